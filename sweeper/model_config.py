"""The study's own model as the quote and the cost projection see it: its shape, read from the
model's ``config.json`` (``transformers.AutoConfig``), never its weights or tokenizer.

A folder holding only ``config.json`` is enough. The bundled model is the preset
``smollm2-135m`` (its published config), so quoting it converts nothing. A hub id is read
through the Hugging Face cache (offline: only when cached). A config ``AutoConfig`` does not know
(a ``model_type`` of newer or remote code) is read as plain JSON with the same key names.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import cost_models
from cost_models import ModelShape
from cost_models.errors import InvalidInputError
from sweeper.errors import SweeperError

#: The bundled model's spec in a study file, and the preset that is its published config.
BUILTIN_MODEL = "builtin:smollm2-135m-instruct"
BUILTIN_SHAPE = "smollm2-135m"


class ModelConfigError(SweeperError):
    """The model's ``config.json`` cannot be read or does not describe a decoder's shape."""


def study_model_shape(model: Any) -> ModelShape:
    """The shape of a study's ``model`` section (``model.path``; ``model.revision`` and
    ``model.trust_remote_code`` when the study gives them). A relative path is taken from the
    working directory, as the runner loads it."""
    path = str(model.path)
    if path == BUILTIN_MODEL:
        return cost_models.model_shape(BUILTIN_SHAPE)
    folder = Path(path).expanduser()
    stamp = (folder / "config.json").stat().st_mtime_ns if (folder / "config.json").is_file() else 0
    return _shape(
        path,
        getattr(model, "revision", None),
        bool(getattr(model, "trust_remote_code", False)),
        stamp,
    )


@functools.lru_cache(maxsize=32)
def _shape(path: str, revision: str | None, trust_remote_code: bool, stamp: int) -> ModelShape:
    config, where = read_model_config(path, revision=revision, trust_remote_code=trust_remote_code)
    try:
        return cost_models.shape_from_config(
            config, name=Path(path).name or path, source=str(where)
        )
    except InvalidInputError as exc:
        raise ModelConfigError(
            f"model.path {path!r}: {where} does not describe a decoder's shape: {exc}"
        ) from None


def read_model_config(
    path: str, *, revision: str | None = None, trust_remote_code: bool = False
) -> tuple[dict[str, Any], str]:
    """The model's config as a dict with ``transformers``' normalised key names, and where it
    was read from. Raises ``ModelConfigError`` (one line) when there is none to read."""
    folder = Path(path).expanduser()
    config_file = folder / "config.json"
    if folder.exists() and not config_file.is_file():
        raise ModelConfigError(
            f"model.path {path!r}: no config.json in {folder}; give a model folder (its "
            "config.json is enough for a quote) or a hub id"
        )
    where = str(config_file) if folder.exists() else f"{path} (hub)/config.json"
    try:
        source = str(folder) if folder.exists() else path
        return _auto_config(source, revision, trust_remote_code), where
    except Exception as exc:  # noqa: BLE001  transformers raises many kinds (strict dataclasses)
        if not config_file.is_file():
            raise ModelConfigError(
                f"model.path {path!r}: cannot read its config.json ({_first_line(exc)}); give a "
                "local model folder holding config.json, or a hub id cached on this machine"
            ) from None
    try:  # a model_type AutoConfig does not know: the same keys, read as JSON
        raw = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelConfigError(
            f"model.path {path!r}: {config_file} is not a valid JSON config ({_first_line(exc)})"
        ) from None
    if not isinstance(raw, dict):
        raise ModelConfigError(
            f"model.path {path!r}: {config_file} must hold a JSON object, but got "
            f"{type(raw).__name__}"
        )
    return raw, where


def _auto_config(source: str, revision: str | None, trust_remote_code: bool) -> dict[str, Any]:
    from transformers import AutoConfig
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # legacy-value notices (Gemma's gelu) are not the user's
    try:
        config = AutoConfig.from_pretrained(
            source, revision=revision, trust_remote_code=trust_remote_code
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    # Attribute access applies each family's aliases (e.g. GPT-2's n_layer -> num_hidden_layers)
    # and class defaults (tie_word_embeddings, head_dim) that config.json may leave out.
    normalised = {
        key: getattr(text, key, None)
        for keys in cost_models.CONFIG_KEYS.values()
        for key in keys[:1]
    }
    normalised["tie_word_embeddings"] = getattr(
        text, "tie_word_embeddings", getattr(config, "tie_word_embeddings", False)
    )
    return {**text.to_dict(), **{k: v for k, v in normalised.items() if v is not None}}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
