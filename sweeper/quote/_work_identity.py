"""What identifies a piece of cached work within a study: a trained adapter, an evaluation.

Two trials with the same identity share the work cache's entry (the second is a cache hit); a
dimension sampled from a continuous range makes every trial's identity new.
"""

from __future__ import annotations

from sweeper.search import LoraSettings, RecipeSettings
from sweeper.study import LoadedStudy, Range


def lora_id(s: LoraSettings) -> tuple:
    """What identifies a trained adapter within a study (the cache key's varying inputs)."""
    return tuple(sorted(s.as_params().items()))


def recipe_id(r: RecipeSettings) -> tuple:
    """What identifies an evaluation within a study (the eval cache key's varying inputs)."""
    return (lora_id(r.lora), r.merge_method, r.merge_weight, r.merge_density, r.quantization)


#: The dimensions that identify a trained LoRA adapter.
LORA_DIMENSIONS = (
    "lora_r",
    "lora_alpha_ratio",
    "learning_rate",
    "target_modules",
    "epochs",
    "lora_dropout",
)


def continuous_dimensions(loaded: LoadedStudy) -> set[str]:
    """Dimensions sampled from a continuous range: no two trials draw the same value, so work
    that depends on one is never reused (whatever the finite sample of the quote repeats)."""
    space = loaded.spec.search_space
    return {
        name
        for name in (*LORA_DIMENSIONS, "merge_weight", "merge_density")
        if isinstance(getattr(space, name), Range)
        and getattr(space, name).step is None
        and name not in ("lora_r", "epochs")
    }
