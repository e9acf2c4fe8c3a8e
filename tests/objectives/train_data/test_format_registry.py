"""Training-data formats are found by module: a new format is one module in ``formats/``, and
the schema, the error messages and the README read the registry."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import pytest

import objectives.train_data.formats as formats_package
from objectives import ObjectiveError
from objectives.train_data import TRAIN_FORMATS, get_format, train_formats
from sweeper.study._schema import DataSection

REPO = Path(__file__).resolve().parents[3]


def test_every_public_module_of_formats_registers_one_format() -> None:
    public = {
        f"{formats_package.__name__}.{m.name}"
        for m in pkgutil.iter_modules(formats_package.__path__)
        if not m.name.startswith("_")
    }
    assert sorted(type(fmt).__module__ for fmt in train_formats()) == sorted(public)
    assert [fmt.name for fmt in train_formats()] == list(TRAIN_FORMATS.names())


def test_unknown_format_lists_the_registered_ones() -> None:
    with pytest.raises(ObjectiveError) as err:
        get_format("jsonl")
    assert str(err.value) == (
        "Unknown training-data format 'jsonl'. Available: chat, alpaca, prompt_completion, text"
    )


def test_schema_and_readme_name_every_format() -> None:
    assert all(
        name in (DataSection.model_fields["format"].description or "")
        for name in TRAIN_FORMATS.names()
    )
    readme = (REPO / "README.md").read_text()
    for name in TRAIN_FORMATS.names():
        assert f"| `{name}` |" in readme, name
