"""A one-LoRA recipe for tests that run a whole trial through the one pipeline (``run_recipe``):
train a LoRA, merge it in, quantize (fp32 unless told), evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from objectives import LoraTrainConfig, data_file, get_task
from sweeper.recipe import LoraJob, ModelLoad, Recipe


def one_trial(
    model: str | Path,
    lora: LoraTrainConfig,
    tasks: tuple[str, ...],
    *,
    eval_limit: int,
    eval_batch_size: int = 4,
    train_file: Path | None = None,
    data_fields: tuple[tuple[str, str], ...] = (),
    quantization: str = "fp32",
    device: str = "cpu",
    dtype: str = "float32",
) -> Recipe:
    """The recipe of one trial; without ``train_file`` it trains on ``lora.train_task``'s data."""
    if train_file is None:
        train_file = data_file(get_task(lora.train_task).train_file)
    job = LoraJob("lora", Path(train_file), lora, data_fields=data_fields)
    load: Any = ModelLoad(device=device, dtype=dtype)
    return Recipe(str(model), job, (), None, quantization, tasks, eval_limit, eval_batch_size, load)
