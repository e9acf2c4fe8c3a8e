"""sweeper.costing: what a trial's serving costs, and the errors a study without one gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from cost_models import CostModelError
from sweeper.costing import PricingContext, ServingNotDeclaredError, project_serving
from sweeper.study import load_study
from user_errors import UserError

REPO = Path(__file__).resolve().parents[2]


def test_serving_without_a_serving_section_is_a_user_error_stating_the_rule() -> None:
    loaded = load_study(REPO / "studies" / "merge.yaml")
    assert loaded.spec.serving is None
    with pytest.raises(ServingNotDeclaredError) as caught:
        project_serving(loaded.spec, "bf16", PricingContext.load())
    assert isinstance(caught.value, CostModelError) and isinstance(caught.value, UserError)
    assert str(caught.value) == (
        "pricing serving needs the study's `serving` section (traffic, batch, context), but "
        f"study {loaded.spec.name!r} has none"
    )
