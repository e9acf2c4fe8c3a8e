"""The study's trial model as the quote sees it: its shape (``config.json``) and parameters."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

import cost_models
from sweeper.model_config import study_model_shape
from sweeper.quote._result import ModelSummary
from sweeper.study import LoadedStudy


def trial_model_shape(loaded: LoadedStudy) -> cost_models.ModelShape:
    """The trial model's shape, from its own ``config.json`` (``sweeper.model_config``)."""
    return study_model_shape(loaded.spec.model)


def model_summary(loaded: LoadedStudy) -> ModelSummary:
    """The trial model's shape as the quote used it (what the output names)."""
    shape = trial_model_shape(loaded)
    return ModelSummary(
        path=loaded.spec.model.path,
        params=trial_model_params(loaded),
        layers=shape.layers,
        hidden=shape.hidden,
        heads=shape.heads,
        kv_heads=shape.kv_heads,
        head_dim=shape.head_dim,
        intermediate=shape.intermediate,
        vocab=shape.vocab,
        tied_embeddings=shape.tied_embeddings,
        shape_source=shape.source,
    )


def trial_model_layers(loaded: LoadedStudy) -> int:
    """Decoder layers of the trial model."""
    return trial_model_shape(loaded).layers


def trial_model_params(loaded: LoadedStudy) -> float:
    """Parameters of the trial model: counted from its safetensors headers when the folder holds
    weights (no torch), else the count its shape implies (a folder with only ``config.json``)."""
    path = loaded.spec.model.path
    total = 0
    folder = Path(path).expanduser()
    for f in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for k, v in header.items():
            if k != "__metadata__":
                total += int(np.prod(v["shape"]))
    return float(total) if total else float(trial_model_shape(loaded).params)
