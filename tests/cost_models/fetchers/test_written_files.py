"""The write rule: new files are written, a refresh's own files replaced only with force, and a
file someone else wrote or edited never."""

from __future__ import annotations

import hashlib
import json

import pytest

from cost_models.fetchers import CatalogFileConflictError, WriteOutcome, write_refreshed_file
from cost_models.fetchers._written_files import MANIFEST_NAME


def _manifest(folder):
    return json.loads((folder / MANIFEST_NAME).read_text())


def test_new_file_is_written_and_its_hash_recorded(tmp_path):
    target = tmp_path / "deep" / "aws-2026-11-26.csv"
    assert write_refreshed_file(target, b"a,b\n", force=False) is WriteOutcome.WRITTEN
    assert target.read_bytes() == b"a,b\n"
    assert _manifest(target.parent) == {target.name: hashlib.sha256(b"a,b\n").hexdigest()}
    assert sorted(p.name for p in target.parent.iterdir()) == [MANIFEST_NAME, target.name]


def test_same_bytes_again_is_unchanged(tmp_path):
    target = tmp_path / "f.csv"
    write_refreshed_file(target, b"x", force=False)
    assert write_refreshed_file(target, b"x", force=False) is WriteOutcome.UNCHANGED


def test_own_unedited_file_needs_force(tmp_path):
    target = tmp_path / "f.csv"
    write_refreshed_file(target, b"old", force=False)
    with pytest.raises(
        CatalogFileConflictError, match=r"already exists from an earlier refresh; pass --force"
    ):
        write_refreshed_file(target, b"new", force=False)
    assert write_refreshed_file(target, b"new", force=True) is WriteOutcome.REPLACED
    assert target.read_bytes() == b"new"
    assert _manifest(tmp_path)["f.csv"] == hashlib.sha256(b"new").hexdigest()


def test_edited_file_is_never_replaced(tmp_path):
    target = tmp_path / "f.csv"
    write_refreshed_file(target, b"ours", force=False)
    target.write_bytes(b"ours, edited")
    with pytest.raises(CatalogFileConflictError) as caught:
        write_refreshed_file(target, b"new", force=True)
    assert str(caught.value) == (
        f"{target} was edited after sweeper wrote it; a refresh never overwrites it. "
        "Move it away, or write the refresh elsewhere with --out PATH"
    )
    assert target.read_bytes() == b"ours, edited"


def test_file_sweeper_did_not_write_is_never_replaced(tmp_path):
    target = tmp_path / "f.csv"
    target.write_bytes(b"hand-made")
    with pytest.raises(CatalogFileConflictError, match=r"was not written by sweeper"):
        write_refreshed_file(target, b"new", force=True)


def test_unreadable_manifest_protects_every_file(tmp_path):
    target = tmp_path / "f.csv"
    write_refreshed_file(target, b"ours", force=False)
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(CatalogFileConflictError, match=r"was not written by sweeper"):
        write_refreshed_file(target, b"new", force=True)
