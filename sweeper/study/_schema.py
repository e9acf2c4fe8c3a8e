"""The study file's schema (version 1): what a user may write, with defaults and help text.

Validation happens here, when the file is loaded, in small named validators: a bad value never
reaches Optuna, peft or lm-eval. Cross-file checks (data files exist, tasks and instances are
known) are in ``_load.py``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cost_models import PRICING_MODELS, PricingModel
from objectives.assets import TRAIN_QUANTIZATIONS
from objectives.device import MODEL_DTYPES, ModelDtype
from objectives.eval_tasks.scorers import SCORERS, scorers_taking
from objectives.merge import MERGERS, task_vector_methods
from objectives.quantization import QUANTIZERS
from objectives.target_modules import TARGET_MODULE_PRESETS
from objectives.train_data import TRAIN_FORMATS, get_format, train_formats
from sweeper.budget import MAX_AMOUNT_EUR
from sweeper.errors import short_repr
from sweeper.metrics import COST_METRICS, SERVING_METRICS, Direction
from sweeper.samplers import SAMPLERS

#: Quantization levels a recipe may apply before evaluation (their owner: ``QUANTIZERS``).
QUANT_LEVELS: tuple[str, ...] = QUANTIZERS.names()
#: Merge methods (their owner: ``MERGERS``), plus ``none`` for a recipe that does not merge.
MERGE_METHODS: tuple[str, ...] = ("none", *MERGERS.names())
#: Merge methods that trim task vectors and so take a ``merge_density``.
DENSITY_METHODS: tuple[str, ...] = task_vector_methods()

# TARGET_MODULE_PRESETS (objectives.target_modules): named sets of LoRA target modules, written in
# Llama's names and resolved against each model's own module names. A list of names also works.


#: Upper bounds of counts a study file may ask for: larger values are typos, and would overflow
#: or hang what consumes them (Optuna's loop, the trainer, NumPy's 32-bit seeds).
MAX_TRIALS = 100_000
MAX_SEED = 2**32 - 1
MAX_NAME_LENGTH = 200
MAX_LORA_R = 4096
MAX_EPOCHS = 1000


class _Strict(BaseModel):
    """No unknown keys, no NaN or infinity in a number field, no ``true`` where a number goes."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _is_numeric(field.annotation):
            raise ValueError(f"a number is required, but got {value!r}")
        return value


def _is_numeric(annotation: Any) -> bool:
    """Whether ``annotation`` is ``int``/``float``, alone or in an ``X | None``."""
    import typing

    if annotation in (int, float):
        return True
    return any(_is_numeric(arg) for arg in typing.get_args(annotation))


# --- search space -------------------------------------------------------------------------------


class Choices(_Strict):
    """A categorical dimension: one of ``choices``."""

    choices: list[Any] = Field(
        min_length=1, description="The values to choose from (at least one)."
    )


class Range(_Strict):
    """A numeric dimension between ``low`` and ``high`` (inclusive)."""

    low: float
    high: float
    log: bool = Field(False, description="Sample on a log scale (low must be > 0).")
    step: float | None = Field(None, description="Grid step (not with log).")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.step is not None and not self.step > 0:
            raise ValueError(f"`step > 0` must hold, but got step={self.step}")
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, but got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("`step` cannot be combined with `log: true`")
        return self


class Fixed(_Strict):
    """A dimension held at one value (not searched)."""

    value: Any


Dimension = Choices | Range | Fixed

#: The dimensions a LoRA study can search, with what each accepts.
SEARCHABLE: dict[str, str] = {
    "lora_r": "LoRA rank r: positive integers",
    "lora_alpha_ratio": "alpha as a multiple of r (alpha = ratio * r): positive numbers",
    "learning_rate": "AdamW learning rate: positive numbers",
    "target_modules": (
        f"LoRA target modules: presets {sorted(TARGET_MODULE_PRESETS)} or lists of module names"
    ),
    "epochs": (
        "passes over the training steps (scales local steps and projected tokens): "
        "positive integers"
    ),
    "lora_dropout": "LoRA dropout: numbers in [0, 1)",
    "merge_method": f"merge the fine-tune with `merge.partners`: {', '.join(MERGE_METHODS)}",
    "merge_weight": "the fine-tune's share of the merge, in (0, 1]; partners share the rest "
    "(slerp: 1 - t); sampled only when merging",
    "merge_density": "fraction of each task vector kept, in (0, 1]; sampled only for "
    f"{', '.join(DENSITY_METHODS)}",
    "quantization": f"weights served at: {', '.join(QUANT_LEVELS)}",
    "train_quantization": "the base model while the LoRA trains: none (model.dtype) or nf4 "
    "(QLoRA, 4-bit NF4 through bitsandbytes; CUDA only)",
    "target_instance": "the catalog instance full-scale training is priced on (overrides "
    "hardware.target.instance)",
    "target_pricing": f"its pricing model: {', '.join(PRICING_MODELS)}",
}

#: Dimensions whose values are a registry's names: field -> the registry's kind, for the
#: registries' "Unknown <kind> 'x'. Available: ..." message.
_REGISTRY_KINDS: dict[str, str] = {"merge_method": MERGERS.kind, "quantization": QUANTIZERS.kind}

#: Dimensions that exist only when another dimension has certain values: name -> predicate.
CONDITIONAL: dict[str, Any] = {
    "merge_weight": lambda params: params.get("merge_method", "none") != "none",
    "merge_density": lambda params: params.get("merge_method", "none") in DENSITY_METHODS,
}


def _positive(values: list[float], what: str) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or math.isinf(v):
            raise ValueError(f"{what} must be > 0, but got {short_repr(v)}")


def _integers(values: list[Any], what: str, at_most: int) -> None:
    for v in values:
        if isinstance(v, bool) or not (
            isinstance(v, int) or (isinstance(v, float) and v.is_integer())
        ):
            raise ValueError(f"{what} must be whole numbers, but got {short_repr(v)}")
        if v > at_most:
            raise ValueError(f"{what} must be <= {at_most}, but got {short_repr(v)}")


class SearchSpace(_Strict):
    """The LoRA hyperparameters to search. Omitted dimensions take the training defaults."""

    lora_r: Dimension = Field(default_factory=lambda: Fixed(value=8))
    lora_alpha_ratio: Dimension = Field(default_factory=lambda: Fixed(value=2.0))
    learning_rate: Dimension = Field(default_factory=lambda: Fixed(value=1e-3))
    target_modules: Dimension = Field(default_factory=lambda: Fixed(value="q_v"))
    epochs: Dimension = Field(default_factory=lambda: Fixed(value=1))
    lora_dropout: Dimension = Field(default_factory=lambda: Fixed(value=0.0))
    merge_method: Dimension = Field(default_factory=lambda: Fixed(value="none"))
    merge_weight: Dimension = Field(default_factory=lambda: Fixed(value=0.5))
    merge_density: Dimension = Field(default_factory=lambda: Fixed(value=1.0))
    quantization: Dimension = Field(default_factory=lambda: Fixed(value="fp32"))
    train_quantization: Dimension = Field(default_factory=lambda: Fixed(value="none"))
    target_instance: Dimension | None = None
    target_pricing: Dimension | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse_dimensions(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise _FieldError(
                "search_space", raw, "a mapping of dimension name -> {choices|low/high|value}"
            )
        parsed = {}
        for key, spec in raw.items():
            if key not in SEARCHABLE:
                raise _FieldError(
                    f"search_space.{key}",
                    key,
                    f"unknown dimension; valid dimensions: {', '.join(SEARCHABLE)}",
                )
            parsed[key] = _parse_dimension(f"search_space.{key}", spec)
        return parsed

    @field_validator("lora_r", "epochs")
    @classmethod
    def _positive_integers(cls, dim: Dimension, info: Any) -> Dimension:
        values = _dimension_values(dim)
        _integers(
            values, info.field_name, MAX_LORA_R if info.field_name == "lora_r" else MAX_EPOCHS
        )
        _positive(values, info.field_name)
        return dim

    @field_validator("lora_alpha_ratio", "learning_rate")
    @classmethod
    def _positive_numbers(cls, dim: Dimension, info: Any) -> Dimension:
        _positive(_dimension_values(dim), info.field_name)
        return dim

    @field_validator("lora_dropout")
    @classmethod
    def _dropout(cls, dim: Dimension) -> Dimension:
        for v in _dimension_values(dim):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ValueError(f"lora_dropout must be in [0, 1), but got {short_repr(v)}")
        return dim

    @field_validator("merge_weight", "merge_density")
    @classmethod
    def _fractions(cls, dim: Dimension, info: Any) -> Dimension:
        for v in _dimension_values(dim):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ValueError(f"{info.field_name} must be in (0, 1], but got {short_repr(v)}")
        return dim

    @field_validator("merge_method", "quantization", "train_quantization", "target_pricing")
    @classmethod
    def _named_choice(cls, dim: Dimension | None, info: Any) -> Dimension | None:
        if dim is None:
            return dim
        valid = {
            "merge_method": MERGE_METHODS,
            "quantization": QUANT_LEVELS,
            "train_quantization": TRAIN_QUANTIZATIONS,
            "target_pricing": PRICING_MODELS,
        }[info.field_name]
        if isinstance(dim, Range):
            raise ValueError(f"{info.field_name} takes `choices` or `value`, not a numeric range")
        for v in _dimension_values(dim):
            if isinstance(v, str) and v not in valid and info.field_name in _REGISTRY_KINDS:
                kind = _REGISTRY_KINDS[info.field_name]
                raise ValueError(f"Unknown {kind} {short_repr(v)}. Available: {', '.join(valid)}")
            if not isinstance(v, str) or v not in valid:
                raise ValueError(
                    f"unknown {info.field_name} {short_repr(v)}; valid values: {', '.join(valid)}"
                )
        return dim

    @field_validator("target_instance")
    @classmethod
    def _instances(cls, dim: Dimension | None) -> Dimension | None:
        if isinstance(dim, Range):
            raise ValueError("target_instance takes `choices` or `value`, not a numeric range")
        for v in _dimension_values(dim) if dim is not None else []:
            if not isinstance(v, str) or not v:
                raise ValueError(
                    f"target_instance values must be instance names, got {short_repr(v)}"
                )
        return dim

    @field_validator("target_modules")
    @classmethod
    def _modules(cls, dim: Dimension) -> Dimension:
        if isinstance(dim, Range):
            raise ValueError("target_modules takes `choices` or `value`, not a numeric range")
        for v in _dimension_values(dim):
            if isinstance(v, str):
                if v not in TARGET_MODULE_PRESETS:
                    raise ValueError(
                        f"unknown target_modules preset {short_repr(v)}; valid presets: "
                        f"{', '.join(sorted(TARGET_MODULE_PRESETS))}, or a list of module names"
                    )
            elif not (isinstance(v, list) and v and all(isinstance(m, str) and m for m in v)):
                raise ValueError(
                    "target_modules must be a preset name or a non-empty list of names, "
                    f"got {short_repr(v)}"
                )
        return dim

    @model_validator(mode="after")
    def _something_to_search(self) -> SearchSpace:
        searched = [n for n in SEARCHABLE if isinstance(getattr(self, n), (Choices, Range))]
        if not searched:
            raise ValueError(
                "the search space is empty: give at least one dimension `choices` or `low`/`high`"
            )
        return self


def _parse_dimension(field: str, spec: Any) -> Dimension:
    """``{choices: [...]}``, ``{low:, high:, log:}`` or ``{value: x}``; a bare value means fixed."""
    from pydantic import ValidationError

    if not isinstance(spec, dict):
        return Fixed(value=spec)
    kinds = [k for k in ("choices", "low", "high", "value") if k in spec]
    try:
        if "choices" in spec:
            if not isinstance(spec["choices"], list) or not spec["choices"]:
                raise _FieldError(f"{field}.choices", spec["choices"], "a non-empty list of values")
            return Choices(**spec)
        if "low" in spec or "high" in spec:
            return Range(**spec)
        if "value" in spec:
            return Fixed(**spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _FieldError(
            f"{field}.{where}" if where else field, first.get("input"), _clean(first["msg"])
        ) from None
    raise _FieldError(
        field,
        spec,
        f"a dimension needs `choices`, `low`/`high` or `value` (got keys {kinds or list(spec)})",
    )


def _clean(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _one_of(names: tuple[str, ...]) -> str:
    """``a, b or c`` (for help text)."""
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1]))) if names else "none"


def _dimension_values(dim: Dimension) -> list[Any]:
    if isinstance(dim, Choices):
        return list(dim.choices)
    if isinstance(dim, Range):
        return [dim.low, dim.high]
    return [dim.value]


# --- the rest of the study ----------------------------------------------------------------------


class ModelSection(_Strict):
    path: str = Field(
        "builtin:smollm2-135m-instruct",
        description=(
            "A local model folder, a hub id, or 'builtin:smollm2-135m-instruct' (bundled, offline)."
        ),
    )
    dtype: ModelDtype = Field(
        "auto",
        description="Weights and compute dtype: auto (bf16 on a GPU that supports it, fp32 on "
        "CPU), bf16, fp16 (CUDA only) or fp32. On a GPU, training uses mixed precision to match.",
    )
    revision: str | None = Field(
        None, min_length=1, description="A hub revision (branch, tag or commit) of `path`."
    )
    trust_remote_code: bool = Field(
        False,
        description="Run the model repository's own Python code (needed by some architectures). "
        "Logged with every trial.",
    )

    @field_validator("dtype", mode="before")
    @classmethod
    def _dtype(cls, v: Any) -> Any:
        if v not in MODEL_DTYPES:
            raise ValueError(f"unknown model dtype {v!r}; valid: {', '.join(MODEL_DTYPES)}")
        return v


class DataSection(_Strict):
    train: str = Field(
        description=(
            "Training data: a JSONL file (prompt/completion, chat messages, alpaca or text "
            "records) or a datasets.save_to_disk folder. Relative to the study file, or "
            "'builtin:NAME'."
        )
    )
    format: str | None = Field(
        None,
        description=f"The records' format: {', '.join(TRAIN_FORMATS.names())} "
        "(default: detected from the first record).",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="The file's own key names for the format's fields, e.g. "
        "{prompt: question, completion: answer}.",
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        if v is not None and v not in TRAIN_FORMATS:
            valid = ", ".join(TRAIN_FORMATS.names())
            raise ValueError(f"unknown data format {v!r}; valid: {valid}")
        return v

    @model_validator(mode="after")
    def _known_fields(self) -> DataSection:
        formats = [get_format(self.format)] if self.format else list(train_formats())
        known = sorted({name for fmt in formats for name in fmt.all_fields})
        for name, key in self.fields.items():
            if name not in known:
                raise _FieldError(
                    f"data.fields.{name}",
                    name,
                    f"not a field of format {self.format or 'any format'}; valid: "
                    + ", ".join(known),
                )
            if not key:
                raise _FieldError(f"data.fields.{name}", key, "a non-empty key name")
        return self


class EvalTaskEntry(_Strict):
    """One metric's task with options: an lm-eval task by name, or a JSONL file and a scorer."""

    task: str | None = Field(
        None,
        min_length=1,
        description="An lm-eval task or group: bundled, from eval.include_path, or lm-eval's own "
        "(hellaswag, arc_easy, gsm8k, mmlu...).",
    )
    file: str | None = Field(
        None, min_length=1, description="Or: a JSONL eval file, relative to the study file."
    )
    scorer: str | None = Field(None, description=f"With `file`: {_one_of(SCORERS.names())}.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="With `file`: the file's key names for prompt, target (and choices); "
        "defaults prompt/target/choices.",
    )
    pattern: str | None = Field(
        None,
        description=f"With scorer {_one_of(scorers_taking('pattern'))}: the regular expression.",
    )
    metric: str | None = Field(
        None, description="Which of the task's metrics is the objective value (default: first)."
    )
    num_fewshot: int | None = Field(None, ge=0, description="Examples put before each prompt.")
    limit: int | None = Field(None, gt=0, description="Items evaluated (default: eval.limit).")
    chat_template: bool | None = Field(
        None, description="Wrap prompts in the chat template (default: if the tokenizer has one)."
    )
    max_gen_toks: int | None = Field(None, gt=0, description="Most tokens generated per answer.")

    @model_validator(mode="after")
    def _one_form(self) -> EvalTaskEntry:
        if (self.task is None) == (self.file is None):
            raise ValueError("give either `task` (an lm-eval task) or `file` with a `scorer`")
        if self.task is not None:
            given = [k for k in ("scorer", "pattern") if getattr(self, k) is not None]
            if given or self.fields:
                raise ValueError(
                    f"`{(given or ['fields'])[0]}` applies to a `file` task, not to `task`"
                )
        elif self.scorer is None:
            raise ValueError("a `file` task needs a `scorer`")
        return self


class EvalSection(_Strict):
    tasks: dict[str, str | EvalTaskEntry] = Field(
        min_length=1,
        description="Metric name -> an lm-eval task name, or {task: NAME, ...options}, or "
        "{file: EVAL.jsonl, scorer: NAME, fields: {...}, ...options}.",
    )
    include_path: list[str] = Field(
        default_factory=list,
        description="Folders of your own lm-eval task YAML files (relative to the study file); "
        "their task names become valid in `tasks`.",
    )
    limit: int | None = Field(None, gt=0, description="Evaluate at most this many items per task.")
    batch_size: int = Field(
        32, gt=0, description="lm-eval batch size (32 generates ~1.5x faster than 8 on CPU)."
    )

    @field_validator("include_path", mode="before")
    @classmethod
    def _one_or_more_folders(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw

    @field_validator("tasks", mode="before")
    @classmethod
    def _parse_tasks(cls, raw: Any) -> Any:
        from pydantic import ValidationError

        if not isinstance(raw, dict):
            return raw
        parsed: dict[str, Any] = {}
        for metric, entry in raw.items():
            if isinstance(entry, str) or not isinstance(entry, dict):
                parsed[metric] = entry
                continue
            try:
                parsed[metric] = EvalTaskEntry.model_validate(entry)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                field = f"eval.tasks.{metric}" + (f".{where}" if where else "")
                if first["type"] == "extra_forbidden":
                    raise _FieldError(
                        field,
                        first["loc"][-1],
                        f"unknown key; valid keys here: {', '.join(EvalTaskEntry.model_fields)}",
                    ) from None
                raise _FieldError(field, first.get("input"), _clean(first["msg"])) from None
        return parsed

    @field_validator("tasks")
    @classmethod
    def _metric_names(cls, tasks: dict[str, Any]) -> dict[str, Any]:
        for name in tasks:
            if not name.isidentifier():
                raise ValueError(
                    f"metric names must be identifiers (letters, digits, _), got {short_repr(name)}"
                )
            if name in COST_METRICS:
                raise ValueError(f"metric name {name!r} is reserved for a cost metric")
        return tasks


class TrainingSection(_Strict):
    steps_per_epoch: int = Field(
        20, gt=0, le=1_000_000, description="Optimizer steps per epoch on the trial hardware."
    )
    batch_size: int = Field(4, gt=0, description="Examples per forward pass (micro-batch).")
    batch_size: int = Field(4, gt=0, le=65_536)
    seq_len: int = Field(
        160,
        ge=16,
        le=1_048_576,
        description="Maximum tokens per training example (chat template included).",
    )
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    grad_accum: int = Field(
        1,
        gt=0,
        description="Micro-batches accumulated per optimizer step: each step learns from "
        "batch_size x grad_accum examples.",
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass: less memory, more time."
    )


class ObjectiveSpec(_Strict):
    name: str = Field(
        description="A metric: an eval task key, or a cost metric such as cost_eur_train_projected."
    )
    direction: Direction | None = Field(
        None, description="maximize or minimize; default from the metric."
    )


class TrialHardware(_Strict):
    """Where trials run, and what an hour of it costs."""

    name: str = Field("local-cpu", description="A label for the machine trials run on.")
    eur_per_hour: float | None = Field(None, ge=0, description="Its price in EUR per hour.")
    instance: str | None = Field(
        None, description="Or: a catalog instance type whose price is used."
    )
    provider: str | None = None
    region: str | None = None
    pricing: PricingModel = "on_demand"
    tflops: float | None = Field(
        None,
        gt=0,
        description="Effective dense TFLOP/s for quotes (measured on this machine if unset).",
    )
    memory_bandwidth_gb_s: float | None = Field(None, gt=0, description="For decode-time quotes.")

    @model_validator(mode="after")
    def _priced(self) -> TrialHardware:
        if self.eur_per_hour is None and self.instance is None:
            raise ValueError("give either `eur_per_hour` or a catalog `instance`")
        if self.eur_per_hour is not None and self.instance is not None:
            raise ValueError("give only one of `eur_per_hour` and `instance`")
        return self


class TargetHardware(_Strict):
    """The cloud instance that full-scale training is priced on."""

    instance: str
    provider: str | None = None
    region: str | None = None
    pricing: PricingModel = "on_demand"
    mfu: float | None = Field(
        None, gt=0, le=1, description="Model FLOPs utilization; default per method and GPU."
    )


class HardwareSection(_Strict):
    trial: TrialHardware = Field(default_factory=lambda: TrialHardware(eur_per_hour=0.10))
    target: TargetHardware


class ProjectionSection(_Strict):
    """The full-scale fine-tune that each configuration is priced for."""

    model: str | None = Field(
        None,
        description="A model-shape preset (e.g. llama-2-7b), or give `params`; with neither, "
        "the study's own model (the shape in model.path's config.json) is the full-scale model.",
    )
    params: float | None = Field(None, gt=0, description="Target model parameters N.")
    dataset_tokens: float = Field(gt=0, description="Training tokens per epoch at full scale, D.")
    method: Literal["lora", "qlora", "full"] = "lora"
    seq_len: int = Field(
        2048, gt=0, description="Tokens per training sequence at full scale (activation memory)."
    )
    micro_batch: int = Field(1, gt=0, description="Sequences per GPU per step at full scale.")


class PartnerLora(_Strict):
    """A LoRA the study trains once itself (cached) on another skill's data, to merge with."""

    r: int = Field(8, gt=0)
    alpha_ratio: float = Field(2.0, gt=0, description="alpha = alpha_ratio * r")
    learning_rate: float = Field(2e-3, gt=0)
    target_modules: str = Field("all_linear", description="A target-module preset.")
    epochs: int = Field(1, gt=0)

    @field_validator("target_modules")
    @classmethod
    def _preset(cls, v: str) -> str:
        if v not in TARGET_MODULE_PRESETS:
            raise ValueError(
                f"unknown target_modules preset {short_repr(v)}; valid presets: "
                f"{', '.join(sorted(TARGET_MODULE_PRESETS))}"
            )
        return v


class MergePartner(_Strict):
    """A model merged with each trial's fine-tune: trained by the study, or a model folder."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    train: str | None = Field(
        None, description="Training JSONL for a LoRA the study trains (relative or builtin:)."
    )
    lora: PartnerLora = Field(default_factory=PartnerLora)
    path: str | None = Field(None, description="Or: a fine-tuned model folder to merge as is.")

    @model_validator(mode="after")
    def _one_source(self) -> MergePartner:
        if (self.train is None) == (self.path is None):
            raise ValueError("give exactly one of `train` (a LoRA the study trains) and `path`")
        return self


class MergeSection(_Strict):
    """The models each trial's fine-tune may be merged with (when `merge_method` is not none)."""

    partners: list[MergePartner] = Field(min_length=1)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"

    @model_validator(mode="after")
    def _unique_names(self) -> MergeSection:
        names = [p.name for p in self.partners]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _FieldError(f"merge.partners.{i}.name", name, "partner names must be unique")
        return self


class ServingSection(_Strict):
    """Serving the full-scale model (projection.model) at each trial's quantization level."""

    tokens_per_month: float = Field(gt=0, description="Generated tokens per month to serve.")
    instance: str | None = Field(
        None, description="Serve on this catalog instance; default: the cheapest one that fits."
    )
    provider: str | None = None
    region: str | None = None
    pricing: PricingModel = "on_demand"
    seq_len: int = Field(4096, gt=0, description="Context held in the KV cache per sequence.")
    batch: int = Field(8, gt=0, description="Concurrent sequences per replica.")


#: Constraints with a name, checked by the cost model (not by a measured metric).
NAMED_CONSTRAINTS: dict[str, str] = {
    "fits_target_memory": "the full-scale fine-tune fits the target instance's GPU memory "
    "(checked before a trial spends anything)",
    "fits_serving_memory": "the served model fits `serving.instance`'s GPU memory",
}


class ConstraintSpec(_Strict):
    """A feasibility rule: a metric's bound, or a named cost-model check."""

    name: str | None = Field(None, description=f"One of {', '.join(NAMED_CONSTRAINTS)}.")
    metric: str | None = Field(None, description="A metric: an eval task key or a cost metric.")
    min: float | None = None
    max: float | None = None
    min_vs_baseline: float | None = Field(
        None, description="metric >= the base model's value + this (e.g. -0.05: lose <= 5 points)."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return {"name": raw} if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _well_formed(self) -> ConstraintSpec:
        if (self.name is None) == (self.metric is None):
            raise ValueError("give either a named constraint `name` or a `metric` with a bound")
        if self.name is not None and self.name not in NAMED_CONSTRAINTS:
            raise ValueError(
                f"unknown named constraint {short_repr(self.name)}; "
                f"valid: {', '.join(NAMED_CONSTRAINTS)}"
            )
        bounds = [b for b in (self.min, self.max, self.min_vs_baseline) if b is not None]
        if self.metric is not None and len(bounds) != 1:
            raise ValueError("a metric constraint takes exactly one of min, max, min_vs_baseline")
        if self.name is not None and bounds:
            raise ValueError("a named constraint takes no bound")
        return self

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        if self.min is not None:
            return f"{self.metric}>={self.min:g}"
        if self.max is not None:
            return f"{self.metric}<={self.max:g}"
        return f"{self.metric}>=baseline{self.min_vs_baseline:+g}"


class PruningSection(_Strict):
    """Stop trials early on a cheap intermediate evaluation (median rule on one metric)."""

    metric: str | None = Field(
        None, description="The eval metric that drives pruning (default: the first eval objective)."
    )
    every_steps: int = Field(5, gt=0, description="Evaluate every this many optimizer steps.")
    limit: int = Field(8, gt=0, description="Items of the metric's task per intermediate eval.")
    n_startup_trials: int = Field(
        2, ge=0, description="Completed trials needed before anything is pruned."
    )
    n_warmup_steps: int = Field(0, ge=0, description="Never prune at or before this step.")


class SamplerSection(_Strict):
    """The Optuna sampler: one of ``sweeper.samplers.SAMPLERS``, with its keyword arguments."""

    name: str = Field(
        "tpe",
        description="A sampler registered in sweeper.samplers.SAMPLERS (README: 'The sampler').",
    )
    n_startup_trials: int = Field(
        4,
        ge=0,
        description="Random trials before the sampler starts modelling (ignored by those that "
        "do not model: random, nsga2, grid).",
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the named sampler (each sampler's `SamplerOptions`: "
        "e.g. tpe's n_ei_candidates); validated when the file is loaded.",
    )

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in SAMPLERS:
            raise _FieldError("sampler.name", name, SAMPLERS.unknown_message(name))
        return name

    @model_validator(mode="after")
    def _kwargs_fit_the_sampler(self) -> SamplerSection:
        kind = SAMPLERS.get(self.name)
        try:
            kind.options.model_validate(self.kwargs)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            takes = f"{self.name} takes {kind.describe_options()}"
            if first["type"] == "extra_forbidden":
                raise _FieldError(
                    f"sampler.kwargs.{key}", key, f"unknown keyword argument; {takes}"
                ) from None
            raise _FieldError(
                f"sampler.kwargs.{key}" if key else "sampler.kwargs",
                first.get("input"),
                f"{_clean(first['msg'])}; {takes}",
            ) from None
        return self


class Study(_Strict):
    """A study file: what to search, how to measure it, and how to price it."""

    version: Literal[1] = 1
    name: str = Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Names the Optuna study, the MLflow experiment and the report's folder.",
    )
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Sampler seed, 0 ... 2**32 - 1.")
    trials: int = Field(
        6,
        gt=0,
        le=MAX_TRIALS,
        description="Trials that one `sweeper run` adds (override with --trials).",
    )
    budget_eur: float | None = Field(
        None,
        gt=0,
        le=MAX_AMOUNT_EUR,
        description="Hard budget of the whole study in EUR, shared by all its workers: a trial "
        "starts only if its estimated cost fits in what remains (see sweeper/budget/).",
    )
    budget_overrun_factor: float = Field(
        2.0,
        ge=1.0,
        le=100.0,
        allow_inf_nan=False,
        description="With budget_eur: a trial is stopped (FAIL, charged what it spent) once it "
        "has cost this many times its reservation, the P90 estimate of a trial's cost.",
    )
    model: ModelSection = Field(default_factory=ModelSection)
    data: DataSection
    eval: EvalSection
    training: TrainingSection = Field(default_factory=TrainingSection)
    search_space: SearchSpace
    objectives: list[ObjectiveSpec] = Field(min_length=1)
    hardware: HardwareSection
    projection: ProjectionSection
    sampler: SamplerSection = Field(default_factory=SamplerSection)
    merge: MergeSection | None = None
    serving: ServingSection | None = None
    pruning: PruningSection | None = None
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    cache_dir: str | None = Field(
        None,
        description="Where trained LoRA adapters and evaluations are cached (default: "
        "./.sweeper-cache, or $SWEEPER_WORK_CACHE).",
    )

    @field_validator("name")
    @classmethod
    def _not_a_directory_name(cls, name: str) -> str:
        if set(name) == {"."}:
            raise ValueError(
                f"a study name names folders and files: it cannot be {name!r} (only dots)"
            )
        return name

    @model_validator(mode="after")
    def _pruning_metric(self) -> Study:
        if self.pruning is None:
            return self
        metric = self.pruning.metric
        if metric is None:
            if not any(o.name in self.eval.tasks for o in self.objectives):
                raise _FieldError(
                    "pruning.metric", None, f"name an eval metric: {', '.join(self.eval.tasks)}"
                )
        elif metric not in self.eval.tasks:
            raise _FieldError(
                "pruning.metric", metric, f"an eval metric: {', '.join(self.eval.tasks)}"
            )
        return self

    @model_validator(mode="after")
    def _grid_needs_choices(self) -> Study:
        if not SAMPLERS.get(self.sampler.name).exhaustive_grid:
            return self
        for name in SEARCHABLE:
            dim = getattr(self.search_space, name)
            if isinstance(dim, Range):
                raise _FieldError(
                    f"search_space.{name}",
                    {"low": dim.low, "high": dim.high},
                    "the grid sampler needs `choices` (or `value`) on every dimension",
                )
            if isinstance(dim, Choices) and name in CONDITIONAL:
                raise _FieldError(
                    f"search_space.{name}",
                    dim.choices,
                    "the grid sampler cannot search a conditional dimension; fix it with `value`",
                )
        return self

    @model_validator(mode="after")
    def _recipe_sections(self) -> Study:
        merging = [m for m in _dimension_values(self.search_space.merge_method) if m != "none"]
        if merging and self.merge is None:
            raise _FieldError(
                "merge",
                None,
                f"search_space.merge_method includes {merging[0]!r}: declare `merge.partners`",
            )
        for method in merging:
            models = MERGERS.get(method).exact_models  # the trained adapter and its partners
            if models is not None and self.merge is not None:
                if len(self.merge.partners) != models - 1:
                    raise _FieldError(
                        "merge.partners",
                        len(self.merge.partners),
                        f"{method} merges exactly {_count_models(models)}: "
                        f"give {_count_partners(models - 1)}",
                    )
        for i, c in enumerate(self.constraints):
            if c.metric is not None:
                known = list(self.eval.tasks) + list(COST_METRICS)
                if c.metric not in known:
                    raise _FieldError(
                        f"constraints.{i}.metric", c.metric, _valid_metrics(c.metric, known)
                    )
                if c.min_vs_baseline is not None and c.metric not in self.eval.tasks:
                    raise _FieldError(
                        f"constraints.{i}.min_vs_baseline",
                        c.metric,
                        f"baseline bounds apply to eval metrics: {', '.join(self.eval.tasks)}",
                    )
            if c.name == "fits_serving_memory" and (
                self.serving is None or self.serving.instance is None
            ):
                raise _FieldError(
                    f"constraints.{i}.name", c.name, "needs `serving.instance` to check against"
                )
        serving_metrics = [
            o.name
            for o in self.objectives
            if COST_METRICS.get(o.name, None) is not None and o.name in SERVING_METRICS
        ]
        if serving_metrics and self.serving is None:
            raise _FieldError(
                "serving", None, f"objective {serving_metrics[0]!r} needs a `serving` section"
            )
        return self

    @model_validator(mode="after")
    def _objectives_are_metrics(self) -> Study:
        known = list(self.eval.tasks) + list(COST_METRICS)
        seen: set[str] = set()
        for i, objective in enumerate(self.objectives):
            if objective.name not in known:
                raise _FieldError(
                    f"objectives.{i}.name", objective.name, _valid_metrics(objective.name, known)
                )
            if objective.name in seen:
                raise _FieldError(
                    f"objectives.{i}.name", objective.name, "each objective may appear once"
                )
            seen.add(objective.name)
        return self


def _valid_metrics(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}valid metrics: {', '.join(known)}"


class _FieldError(ValueError):
    """A cross-field error that knows which field it is about (turned into a StudyFileError)."""

    def __init__(self, field: str, value: Any, valid: str) -> None:
        super().__init__(valid)
        self.field = field
        self.value = value
        self.valid = valid


def _count_models(n: int) -> str:
    return "two models" if n == 2 else f"{n} models"


def _count_partners(n: int) -> str:
    return "one partner" if n == 1 else f"{n} partners"
