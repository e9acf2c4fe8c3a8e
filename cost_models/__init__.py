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
from cost_models._dtypes import DTYPE_BYTES, DTYPES, Dtype, dtype_bytes
from cost_models._estimate import gpu_hours, training_flops, training_flops_per_token
from cost_models._evaluation import EvaluationEstimate, evaluation_flops, evaluation_hours
from cost_models._fx import FxRates, load_fx_rates, parse_ecb_xml
from cost_models._gpus import GpuSpec, gpu_spec, load_gpu_specs
from cost_models._hours import HOURS_PER_MONTH, HOURS_PER_YEAR
from cost_models._memory import (
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
from cost_models._pricing import eur_per_hour
from cost_models._pricing_models import PRICING_LABELS, PRICING_MODELS, PricingModel
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
    "DTYPE_BYTES",
    "DTYPES",
    "HOURS_PER_MONTH",
    "HOURS_PER_YEAR",
    "LORA_TARGET_MODULES",
    "MODEL_SHAPES",
    "OPTION_LABELS",
    "PRICING_LABELS",
    "PRICING_MODELS",
    "Calibration",
    "Catalog",
    "CatalogError",
    "CatalogSchemaError",
    "CommitmentComparison",
    "CostModelError",
    "DecodeRate",
    "Dtype",
    "EvaluationEstimate",
    "Exclusion",
    "FxError",
    "FxRates",
    "GpuSpec",
    "GpuSpecError",
    "InvalidInputError",
    "MemoryEstimate",
    "ModelShape",
    "NoFeasibleInstanceError",
    "Offer",
    "OptionCost",
    "Placement",
    "PriceUnknownError",
    "PricedOption",
    "PricingModel",
    "ServingEstimate",
    "ServingWorkload",
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
    "compare_commitments",
    "MAX_HORIZON_MONTHS",
    "decode_rate",
    "default_mbu",
    "default_mfu",
    "dtype_bytes",
    "eur_per_hour",
    "evaluation_flops",
    "evaluation_hours",
    "gpu_hours",
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
    "serving_cost",
    "serving_memory_bytes",
    "shape_from_config",
    "training_flops",
    "training_flops_per_token",
    "training_memory_bytes",
    "training_workload",
    "utilization_defaults",
]
