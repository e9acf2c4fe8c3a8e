"""The cost model's vocabularies, declared once: pricing models, dtypes, hours per month."""

from __future__ import annotations

import typing

import pytest

from cost_models import (
    DTYPE_BYTES,
    DTYPES,
    HOURS_PER_MONTH,
    HOURS_PER_YEAR,
    OPTION_LABELS,
    PRICING_LABELS,
    PRICING_MODELS,
    CostModelError,
    Dtype,
    Offer,
    PricingModel,
    dtype_bytes,
)
from cost_models.fetchers import HOURS_PER_YEAR as FETCHER_HOURS_PER_YEAR


def test_a_month_is_a_twelfth_of_a_billed_year() -> None:
    assert HOURS_PER_MONTH == 730.0 == HOURS_PER_YEAR / 12
    assert FETCHER_HOURS_PER_YEAR == HOURS_PER_YEAR == 8760


def test_every_pricing_model_has_labels_and_a_catalog_column() -> None:
    assert PRICING_MODELS == typing.get_args(PricingModel)
    assert PRICING_MODELS == ("on_demand", "spot", "reserved_1y", "reserved_3y")
    assert list(PRICING_LABELS) == list(OPTION_LABELS) == list(PRICING_MODELS)
    columns = {f.name for f in Offer.__dataclass_fields__.values()}
    assert {f"{p}_per_hour" for p in PRICING_MODELS} <= columns


def test_the_study_schema_reads_the_pricing_models() -> None:
    from sweeper.study import _schema

    assert _schema.PRICING_MODELS is PRICING_MODELS


def test_dtypes_and_their_bytes() -> None:
    assert DTYPES == typing.get_args(Dtype) == tuple(DTYPE_BYTES)
    assert [dtype_bytes(d) for d in ("fp32", "bf16", "int8", "int4")] == [4.0, 2.0, 1.0, 0.5]


def test_an_unknown_dtype_lists_the_known_ones() -> None:
    with pytest.raises(CostModelError) as caught:
        dtype_bytes("int3")
    assert str(caught.value) == "Unknown dtype 'int3'. Available: fp32, bf16, fp16, int8, int4, nf4"


def test_an_unknown_pricing_model_lists_the_available_ones() -> None:
    from cost_models import PRICING_MODELS, check_pricing_model
    from cost_models.errors import CostModelError

    with pytest.raises(CostModelError) as caught:
        check_pricing_model("spott")
    assert str(caught.value) == (
        f"Unknown pricing model 'spott'. Available: {', '.join(PRICING_MODELS)}"
    )
    assert check_pricing_model("spot") == "spot"
