"""Cost model of llm-cost-sweeper: GPU prices in euros, job estimates, instance choice, commitments.

Data (``cost_models/data``): versioned price catalogs (``catalogs/v1/<provider>.csv``), the GPU
spec table (``gpus.csv``), utilization defaults with sources, and the bundled ECB reference rate.
Everything here is a pure function of loaded tables except the ``load_*`` functions.
"""

from cost_models._catalog import CATALOG_COLUMNS, CATALOG_SCHEMA_VERSION, Catalog, load_catalog
from cost_models._commitment import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    DEFAULT_RESERVED_DISCOUNT_1Y,
    DEFAULT_RESERVED_DISCOUNT_3Y,
    MAX_HORIZON_MONTHS,
    OPTION_LABELS,
    CommitmentComparison,
    OptionCost,
    compare_commitments,
    market_drift,
)
from cost_models._commitment_offer import commitment_offer
from cost_models._commitment_prices import (
    CommitmentPrices,
    commitment_prices,
    usable_spot_eur_per_hour,
)
from cost_models._commitment_quote import CommitmentQuote, quote_commitment
from cost_models._dtypes import DTYPE_BYTES, DTYPES, Dtype, dtype_bytes
from cost_models._estimate import gpu_hours, training_flops, training_flops_per_token
from cost_models._evaluation import EvaluationEstimate, evaluation_flops, evaluation_hours
from cost_models._fx import FxRates, load_fx_rates, parse_ecb_xml
from cost_models._gpu_hours_table import GpuHoursRow, gpu_hours_by_gpu
from cost_models._gpus import GpuSpec, gpu_spec, load_gpu_specs
from cost_models._hours import HOURS_PER_MONTH, HOURS_PER_YEAR
from cost_models._job_estimate import (
    ServingJobEstimate,
    TrainingJobEstimate,
    training_job_estimate,
)
from cost_models._memory import (
    TRAINING_METHODS,
    MemoryEstimate,
    TrainingMethod,
    as_shape,
    kv_cache_bytes,
    serving_memory_bytes,
    training_memory_bytes,
)
from cost_models._model_shapes import (
    CONFIG_KEYS,
    LORA_TARGET_MODULES,
    MODEL_SHAPES,
    ModelShape,
    approximate_shape,
    lora_adapter_params,
    model_shape,
    shape_from_config,
)
from cost_models._offer import Offer
from cost_models._price_list import PriceList, PriceRow, price_list, price_row
from cost_models._pricing import eur_per_hour, eur_per_hour_or_none
from cost_models._pricing_models import (
    PRICING_LABELS,
    PRICING_MODELS,
    PricingModel,
    check_pricing_model,
)
from cost_models._selection import Exclusion, Placement, cheapest_instance
from cost_models._serving import DecodeRate, ServingEstimate, decode_rate, serving_cost
from cost_models._utilization import (
    Calibration,
    default_mbu,
    default_mfu,
    measured_mfu,
    utilization_defaults,
)
from cost_models._workload import (
    PricedOption,
    ServingWorkload,
    TrainingWorkload,
    Workload,
    training_workload,
)
from cost_models.errors import (
    CatalogError,
    CatalogSchemaError,
    CostModelError,
    FxError,
    GpuSpecError,
    InvalidInputError,
    NoFeasibleInstanceError,
    PriceUnknownError,
    UnknownGpuError,
    UnknownInstanceError,
    UnknownModelError,
    UnknownNameError,
    UnknownProviderError,
    UnknownRegionError,
)

__all__ = [
    "CATALOG_COLUMNS",
    "CATALOG_SCHEMA_VERSION",
    "CONFIG_KEYS",
    "DEFAULT_PRICE_DECLINE_PER_YEAR",
    "DEFAULT_RESERVED_DISCOUNT_1Y",
    "DEFAULT_RESERVED_DISCOUNT_3Y",
    "DTYPES",
    "DTYPE_BYTES",
    "HOURS_PER_MONTH",
    "HOURS_PER_YEAR",
    "LORA_TARGET_MODULES",
    "MAX_HORIZON_MONTHS",
    "MODEL_SHAPES",
    "OPTION_LABELS",
    "PRICING_LABELS",
    "PRICING_MODELS",
    "TRAINING_METHODS",
    "Calibration",
    "Catalog",
    "CatalogError",
    "CatalogSchemaError",
    "CommitmentComparison",
    "CommitmentPrices",
    "CommitmentQuote",
    "CostModelError",
    "DecodeRate",
    "Dtype",
    "EvaluationEstimate",
    "Exclusion",
    "FxError",
    "FxRates",
    "GpuHoursRow",
    "GpuSpec",
    "GpuSpecError",
    "InvalidInputError",
    "MemoryEstimate",
    "ModelShape",
    "NoFeasibleInstanceError",
    "Offer",
    "OptionCost",
    "Placement",
    "PriceList",
    "PriceRow",
    "PriceUnknownError",
    "PricedOption",
    "PricingModel",
    "ServingEstimate",
    "ServingJobEstimate",
    "ServingWorkload",
    "TrainingJobEstimate",
    "TrainingMethod",
    "TrainingWorkload",
    "UnknownGpuError",
    "UnknownInstanceError",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownProviderError",
    "UnknownRegionError",
    "Workload",
    "approximate_shape",
    "as_shape",
    "cheapest_instance",
    "check_pricing_model",
    "commitment_offer",
    "commitment_prices",
    "compare_commitments",
    "decode_rate",
    "default_mbu",
    "default_mfu",
    "dtype_bytes",
    "eur_per_hour",
    "eur_per_hour_or_none",
    "evaluation_flops",
    "evaluation_hours",
    "gpu_hours",
    "gpu_hours_by_gpu",
    "gpu_spec",
    "kv_cache_bytes",
    "load_catalog",
    "load_fx_rates",
    "load_gpu_specs",
    "lora_adapter_params",
    "market_drift",
    "measured_mfu",
    "model_shape",
    "parse_ecb_xml",
    "price_list",
    "price_row",
    "quote_commitment",
    "serving_cost",
    "serving_memory_bytes",
    "shape_from_config",
    "training_flops",
    "training_flops_per_token",
    "training_job_estimate",
    "training_memory_bytes",
    "training_workload",
    "usable_spot_eur_per_hour",
    "utilization_defaults",
]
