"""``recipe.yaml``: exactly how to rebuild a trial's model from its LoRA adapter (pure).

The adapter is the only trained artefact; everything after it (merging with the study's
partners, quantizing, the serving instance it was priced on) is a deterministic step that this
file states with its settings, so a team can rebuild the configuration on another machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import yaml

RECIPE_FILE = "recipe.yaml"
ADAPTER_DIR = "adapter"


@dataclass(frozen=True)
class MergeRebuild:
    """A mergekit merge of the fine-tune (its ``weight``) with the study's partners."""

    method: str
    weight: float
    density: float | None
    dtype: str
    seed: int
    #: Each partner: ``{"name", "train"}`` (a LoRA the study trains) or ``{"name", "path"}``.
    partners: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RebuildRecipe:
    study: str
    trial: int
    base_model: str
    lora: dict[str, Any]
    merge: MergeRebuild | None
    quantization: str
    serving_instance: str | None
    metrics: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.merge is not None:
            data["merge"]["partners"] = [dict(p) for p in self.merge.partners]
        data["adapter"] = ADAPTER_DIR
        return data


def load_snippet(recipe: RebuildRecipe) -> str:
    """Python that loads the adapter onto the base model (then merge/quantize as stated)."""
    return (
        "from peft import PeftModel\n"
        "from transformers import AutoModelForCausalLM\n"
        f"base = AutoModelForCausalLM.from_pretrained({recipe.base_model!r})\n"
        f"model = PeftModel.from_pretrained(base, {ADAPTER_DIR!r})\n"
    )


def recipe_yaml(recipe: RebuildRecipe) -> str:
    """The ``recipe.yaml`` text: a comment saying what it is, then the settings."""
    steps = ["load the LoRA adapter in adapter/ onto base_model (peft)"]
    if recipe.merge is not None:
        steps.append(f"merge it with the partners ({recipe.merge.method}, mergekit)")
    else:
        steps.append("merge the adapter into the base weights (merge_and_unload)")
    steps.append(f"quantize to {recipe.quantization}")
    header = (
        f"# Trial {recipe.trial} of study '{recipe.study}', rebuilt from its LoRA adapter:\n"
        + "".join(f"#   {i}. {s}\n" for i, s in enumerate(steps, 1))
        + "# Step 1 in Python:\n"
        + "".join(f"#   {line}\n" for line in load_snippet(recipe).splitlines())
    )
    return header + yaml.safe_dump(recipe.as_dict(), sort_keys=False)
