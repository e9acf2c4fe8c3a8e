"""The private parts of mergekit and lm-eval that objectives/upstream/ wraps are still there, and
the installed versions are inside the ranges pyproject.toml pins: when an upstream release
changes them, these tests fail with a message naming that release."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from objectives.upstream import (
    LM_EVAL_TESTED,
    MERGEKIT_TESTED,
    UpstreamChangedError,
    release_loaders,
    without_environment_report,
)

REPO = Path(__file__).resolve().parents[3]


def _pinned(distribution: str) -> SpecifierSet:
    """The version range pyproject.toml's dependencies give ``distribution`` (read as text:
    tomllib is Python 3.11+)."""
    text = (REPO / "pyproject.toml").read_text()
    found = re.search(rf'^\s*"({re.escape(distribution)}[<>=!~ ][^"]*)"', text, re.MULTILINE)
    assert found, f"pyproject.toml does not depend on {distribution}"
    return Requirement(found.group(1)).specifier


@pytest.mark.parametrize(
    ("distribution", "tested"), [("mergekit", MERGEKIT_TESTED), ("lm_eval", LM_EVAL_TESTED)]
)
def test_installed_versions_are_the_pinned_and_tested_ones(distribution: str, tested: str) -> None:
    installed = version(distribution)
    pinned = _pinned("lm-eval" if distribution == "lm_eval" else distribution)
    assert str(pinned) == str(SpecifierSet(tested)), (
        f"pyproject.toml pins {distribution}{pinned}, objectives/upstream/ was tested with {tested}"
    )
    assert pinned.contains(installed), (
        f"{distribution} {installed} is outside the range objectives/upstream/ supports "
        f"({tested}); check its private APIs and widen the pin"
    )


def test_mergekit_loader_cache_is_emptied() -> None:
    from mergekit.io.tasks import LoaderCache

    release_loaders()  # raises UpstreamChangedError if the private parts are gone
    assert LoaderCache().loaders == {}


def test_a_changed_mergekit_loader_cache_names_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import mergekit.io.tasks

    class Changed:  # a LoaderCache whose private `loaders` dict is gone
        def flush_all(self) -> None:
            pass

    monkeypatch.setattr(mergekit.io.tasks, "LoaderCache", Changed)
    with pytest.raises(UpstreamChangedError, match=re.escape(f"mergekit {version('mergekit')}")):
        release_loaders()


def test_lm_eval_hooks_are_replaced_then_restored() -> None:
    import lm_eval.evaluator as evaluator

    originals = evaluator.add_env_info, evaluator.get_git_commit_hash
    with without_environment_report():
        assert evaluator.get_git_commit_hash() is None
        assert evaluator.add_env_info({}) is None
    assert (evaluator.add_env_info, evaluator.get_git_commit_hash) == originals


def test_changed_lm_eval_hooks_name_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import lm_eval.evaluator as evaluator

    monkeypatch.delattr(evaluator, "add_env_info")
    with (
        pytest.raises(UpstreamChangedError, match=re.escape(f"lm-eval {version('lm_eval')}")),
        without_environment_report(),
    ):
        pass
