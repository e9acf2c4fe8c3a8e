"""The work cache's integrity: content fingerprints, atomic and durable metadata, corrupt entries
rebuilt, no symbolic link followed out of the cache."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from objectives import LoraTrainConfig
from sweeper.recipe import LoraJob, Recipe, WorkCache, cache_key, recipe_keys
from sweeper.recipe._fingerprint import MEMO_FILE, ContentHashes


def fake_model(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def recipe_on(model: Path, train_file: Path) -> Recipe:
    job = LoraJob("lora", train_file, LoraTrainConfig())
    return Recipe(str(model), job, (), None, "none", ("quality",), 2, 4)


def test_two_fine_tunes_of_one_base_never_share_cache_keys(tmp_path: Path) -> None:
    # Same file names, same sizes, same config: only the weights' bytes differ.
    first = fake_model(tmp_path / "tune-a", b"\x01" * 64)
    second = fake_model(tmp_path / "tune-b", b"\x02" * 64)
    copy = fake_model(tmp_path / "copy-of-a", b"\x01" * 64)
    train = tmp_path / "train.jsonl"
    train.write_text('{"prompt": "a", "completion": "b"}\n')
    hashes = WorkCache(tmp_path / "cache").hashes

    keys = {m.name: recipe_keys(recipe_on(m, train), hashes) for m in (first, second, copy)}
    assert keys["tune-a"]["lora"] != keys["tune-b"]["lora"]
    assert keys["tune-a"]["eval"] != keys["tune-b"]["eval"]
    assert keys["tune-a"] == keys["copy-of-a"]  # identity is content, not the folder's name


def test_content_hashes_are_memoised_by_path_size_and_mtime(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 100)
    memo = tmp_path / MEMO_FILE
    digest = ContentHashes(memo).file_sha256(weights)
    stored = json.loads(memo.read_text())[str(weights.resolve())]
    assert stored["sha256"] == digest and stored["size"] == 100

    # Another process trusts the memo while size and mtime match (it does not read the file)...
    stored["sha256"] = "memoised"
    memo.write_text(json.dumps({str(weights.resolve()): stored}))
    assert ContentHashes(memo).file_sha256(weights) == "memoised"
    # ...and hashes again once the file was rewritten (same size, new bytes, new mtime).
    weights.write_bytes(b"b" * 100)
    os.utime(weights, ns=(stored["mtime_ns"] + 10**9, stored["mtime_ns"] + 10**9))
    assert ContentHashes(memo).file_sha256(weights) not in ("memoised", digest)

    memo.write_text('{"truncat')  # a corrupt memo is ignored and rewritten, not an error
    assert ContentHashes(memo).file_sha256(weights) != digest
    assert json.loads(memo.read_text())


def build_adapter(calls: list[Path]):
    def build(folder: Path) -> dict:
        calls.append(folder)
        (folder / "adapter.bin").write_bytes(b"weights")
        return {"seconds": 1.0}

    return build


def test_metadata_is_fsynced_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    got = WorkCache(tmp_path).get_or_build("lora", {"r": 8}, build_adapter([]))
    names = [Path(p).name for p in synced]
    assert "adapter.bin" in names  # the entry's files reach the disk before its metadata
    assert any(n.startswith(".meta.json.") for n in names)  # the metadata, before its rename
    assert names[-1] == "lora"  # and the entry's rename itself
    assert sorted(p.name for p in got.path.iterdir()) == ["adapter.bin", "meta.json"]


@pytest.mark.parametrize("meta_text", ['{"seconds": 1.0, "inpu', "", '{"seconds": 1.0}', "[]"])
def test_a_corrupt_entry_is_a_logged_miss_and_is_rebuilt(
    tmp_path: Path, meta_text: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = WorkCache(tmp_path)
    calls: list[Path] = []
    first = cache.get_or_build("lora", {"r": 8}, build_adapter(calls))
    (first.path / "meta.json").write_text(meta_text)  # truncated by a crash, or hand-edited

    with caplog.at_level(logging.WARNING, logger="sweeper.recipe._cache"):
        assert cache.lookup("lora", first.key) is None
        again = cache.get_or_build("lora", {"r": 8}, build_adapter(calls))
    assert "rebuilding" in caplog.text
    assert again.hit is False and len(calls) == 2
    assert cache.get_or_build("lora", {"r": 8}, build_adapter(calls)).hit  # sound again


def test_the_cache_does_not_follow_symlinks_out_of_its_folder(tmp_path: Path) -> None:
    cache = WorkCache(tmp_path / "cache")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "meta.json").write_text(json.dumps({"seconds": 1.0, "built_at": 0, "planted": 1}))
    (outside / "keep.txt").write_text("not the cache's")
    key = cache_key("lora", {"r": 8})
    (tmp_path / "cache" / "lora").mkdir(parents=True)
    cache.folder("lora", key).symlink_to(outside, target_is_directory=True)

    assert cache.lookup("lora", key) is None  # a planted entry is not trusted...
    got = cache.get_or_build("lora", {"r": 8}, build_adapter([]))
    assert got.hit is False and "planted" not in got.meta
    assert not got.path.is_symlink() and got.path.resolve().is_relative_to(cache.root.resolve())
    assert (outside / "keep.txt").read_text() == "not the cache's"  # ...nor deleted through

    # A file inside an entry that links out of it makes the entry a miss as well.
    (got.path / "adapter.bin").unlink()
    (got.path / "adapter.bin").symlink_to(outside / "keep.txt")
    assert cache.lookup("lora", got.key) is None
    rebuilt = cache.get_or_build("lora", {"r": 8}, build_adapter([]))
    assert rebuilt.hit is False and not (rebuilt.path / "adapter.bin").is_symlink()
    assert (outside / "keep.txt").read_text() == "not the cache's"

    # The kind folder itself linked elsewhere: entries are still built inside the cache.
    other = tmp_path / "other-kind"
    other.mkdir()
    (cache.root / "eval").symlink_to(other, target_is_directory=True)
    built = cache.get_or_build("eval", {"k": 1}, build_adapter([]))
    assert built.path.resolve().is_relative_to(cache.root.resolve())
    assert list(other.iterdir()) == []
