"""The one lookup of the cache folders: environment variables, defaults, ``~`` expanded, and
every caller agreeing with it."""

from __future__ import annotations

from pathlib import Path

import pytest

import user_cache
from cost_models.fetchers import _written_files
from objectives import assets
from sweeper import hardware_probe
from sweeper.recipe import default_cache_dir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("HOME", str(folder))
    return folder


def test_cache_dir_default_env_and_override(home: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(user_cache.CACHE_DIR_ENV, raising=False)
    assert user_cache.cache_dir() == home / ".cache" / "llm-cost-sweeper"
    monkeypatch.setenv(user_cache.CACHE_DIR_ENV, "")  # empty counts as unset
    assert user_cache.cache_dir() == home / ".cache" / "llm-cost-sweeper"
    monkeypatch.setenv(user_cache.CACHE_DIR_ENV, str(tmp_path / "env"))
    assert user_cache.cache_dir() == tmp_path / "env"
    assert user_cache.cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_tilde_is_expanded_in_the_variables_and_the_override(home: Path, monkeypatch) -> None:
    monkeypatch.setenv(user_cache.CACHE_DIR_ENV, "~/sweeper-cache")
    assert user_cache.cache_dir() == home / "sweeper-cache"
    assert user_cache.cache_dir("~/given") == home / "given"
    monkeypatch.setenv(user_cache.WORK_CACHE_ENV, "~/work")
    assert user_cache.work_cache_dir() == home / "work"


def test_a_tilde_user_that_does_not_exist_stays_as_written(monkeypatch) -> None:
    monkeypatch.setenv(user_cache.CACHE_DIR_ENV, "~no-such-user-here/x")
    assert user_cache.cache_dir() == Path("~no-such-user-here/x")


def test_work_cache_default_is_in_the_working_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(user_cache.WORK_CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert user_cache.work_cache_dir() == tmp_path / ".sweeper-cache"


def test_every_caller_reads_the_same_folders(home: Path, monkeypatch) -> None:
    monkeypatch.setenv(user_cache.CACHE_DIR_ENV, "~/c")
    monkeypatch.setenv(user_cache.WORK_CACHE_ENV, "~/w")
    assert assets.cache_root() == hardware_probe.cache_dir() == _written_files.cache_dir()
    assert assets.cache_root() == home / "c"
    assert default_cache_dir() == home / "w"
