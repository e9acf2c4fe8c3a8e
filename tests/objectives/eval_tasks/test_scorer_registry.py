"""Scorers are found by module: a new scorer is one module in ``scorers/``, touching no other
file, and every list of scorer names (errors, schema help, README) reads the registry."""

from __future__ import annotations

import dataclasses
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import objectives.eval_tasks.scorers as scorers_package
from objectives.eval_tasks.scorers import PATTERN_SCORERS, SCORERS, make_scorer, scorers_taking
from sweeper.study._schema import EvalTaskEntry

REPO = Path(__file__).resolve().parents[3]


def test_every_public_module_registers_a_scorer_and_nothing_else_does() -> None:
    public = {
        f"{scorers_package.__name__}.{m.name}"
        for m in pkgutil.iter_modules(scorers_package.__path__)
        if not m.name.startswith("_")
    }
    assert {kind.__module__ for _, kind in SCORERS.items()} == public


def test_options_are_the_scorer_dataclass_fields() -> None:
    for _, kind in SCORERS.items():
        fields = {f.name for f in dataclasses.fields(kind) if f.init}
        assert set(kind.options) == fields, kind.name
    assert PATTERN_SCORERS == scorers_taking("pattern") == ("regex",)


def test_schema_help_lists_the_registered_scorers() -> None:
    help_text = EvalTaskEntry.model_fields["scorer"].description or ""
    assert all(name in help_text for name in SCORERS.names())
    assert "regex" in (EvalTaskEntry.model_fields["pattern"].description or "")


def test_readme_documents_every_scorer() -> None:
    readme = (REPO / "README.md").read_text()
    for name in SCORERS.names():
        assert f"| `{name}`" in readme, name


NEW_SCORER = """
from dataclasses import dataclass

from objectives.eval_tasks.scorers._base import GenerationScorer
from objectives.eval_tasks.scorers._registry import register_scorer


@register_scorer()
@dataclass(frozen=True)
class Upper(GenerationScorer):
    name = "upper_match"
    description = "the upper-cased answer equals the upper-cased target"
    metrics = ("upper_match",)

    def score(self, answer, target):
        return {"upper_match": float(answer.strip().upper() == str(target).strip().upper())}
"""


def test_a_new_scorer_module_is_picked_up_without_editing_another_file(tmp_path: Path) -> None:
    """A module dropped into the scorers package (here: a folder added to its search path, in a
    fresh interpreter) is found by name, and the unknown-name message lists it."""
    (tmp_path / "upper_match.py").write_text(NEW_SCORER)
    script = textwrap.dedent(
        f"""
        import objectives.eval_tasks.scorers as package
        package.__path__.append({str(tmp_path)!r})
        from objectives.eval_tasks.scorers import SCORERS, make_scorer
        assert make_scorer("upper_match").score(" paris ", "Paris") == {{"upper_match": 1.0}}
        assert SCORERS.names()[-1] == "upper_match", SCORERS.names()
        try:
            make_scorer("nope")
        except KeyError as exc:
            assert str(exc).endswith("choice, upper_match"), str(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "upper_match" not in SCORERS  # this process never saw it
    assert make_scorer("exact_match").score("a", "a") == {"exact_match": 1.0}
