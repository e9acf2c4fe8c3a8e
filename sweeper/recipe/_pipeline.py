"""One recipe, step by step: LoRA -> optional merge -> quantize -> evaluate, reusing cached work.

Every step runs on the trial's device (``ModelLoad.device``, decided once by
``objectives.device``): training, the merge, the quantization and every evaluation; no model is
moved to another device mid-trial. Each step is a function of its inputs only. Trained adapters
and evaluation results are cached by a hash of those inputs (``WorkCache``); merged and quantized
models are rebuilt when needed (a merge takes seconds, and a merged model is as large as the base
model).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sweeper.budget import check_spending
from sweeper.recipe._cache import CacheResult, WorkCache, cache_key
from sweeper.recipe._fingerprint import ContentHashes


@dataclass(frozen=True)
class ModelLoad:
    """How a trial loads its base model: on which device, in which torch dtype, from where."""

    device: str = "cpu"
    dtype: str = "float32"  # a torch dtype name (objectives.device.resolve_dtype)
    revision: str | None = None
    trust_remote_code: bool = False

    def identity(self) -> dict[str, Any]:
        """What changes the weights a step computes (the device does not), for cache keys;
        defaults are left out so that keys made before these options existed stay valid."""
        out: dict[str, Any] = {}
        if self.dtype != "float32":
            out["dtype"] = self.dtype
        if self.revision is not None:
            out["revision"] = self.revision
        return out


#: LoraTrainConfig fields whose default leaves the trained adapter as it was before they existed.
_NEUTRAL_DEFAULTS: dict[str, Any] = {"grad_accum": 1, "gradient_checkpointing": False}


@dataclass(frozen=True)
class LoraJob:
    """A LoRA fine-tune: everything that determines the adapter it produces."""

    name: str
    train_file: Path  # a JSONL file or a datasets.save_to_disk folder
    config: Any  # objectives.LoraTrainConfig
    data_format: str | None = None  # None: detected from the first record
    data_fields: tuple[tuple[str, str], ...] = ()  # logical field -> the file's key
    quantization: str = "none"  # the base model while training: none, or nf4 (QLoRA)

    def inputs(
        self,
        model_fingerprint: str,
        load: ModelLoad | None = None,
        hashes: ContentHashes | None = None,
    ) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg.pop("train_task", None)  # the examples come from train_file
        for name, default in _NEUTRAL_DEFAULTS.items():
            if cfg.get(name) == default:
                cfg.pop(name)
        out = {
            "model": model_fingerprint,
            "train_file_sha256": (hashes or _PROCESS_HASHES).file_sha256(self.train_file),
            "config": cfg,
        }
        if self.data_format is not None or self.data_fields:
            out["data"] = {"format": self.data_format, "fields": dict(self.data_fields)}
        if self.quantization != "none":
            out["quantization"] = self.quantization
        if load is not None and load.identity():
            out["load"] = load.identity()
        return out

    def examples(self) -> Any:
        from objectives.train_data import load_train_data

        data = load_train_data(
            self.train_file, format=self.data_format, fields=dict(self.data_fields)
        )
        return data.examples


@dataclass(frozen=True)
class MergeStep:
    method: str
    weight: float  # the fine-tune's share; partners share 1 - weight
    density: float | None
    dtype: str = "float32"
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    """Everything one trial builds and measures."""

    base_model: str  # a resolved model folder
    lora: LoraJob
    partners: tuple[LoraJob | Path, ...]  # LoRAs the study trains, or model folders
    merge: MergeStep | None
    quantization: str
    tasks: tuple[Any, ...]  # objectives.eval_tasks.EvalTask (or bundled task names)
    eval_limit: int | None
    eval_batch_size: int
    load: ModelLoad = field(default_factory=ModelLoad)


@dataclass
class StepRecord:
    """What one step did in this trial: ran (``hit`` False), or reused cached work."""

    step: str
    key: str
    hit: bool
    seconds: float  # spent in this trial
    saved_seconds: float = 0.0  # what the reused work took when it was built


@dataclass
class RecipeResult:
    scores: dict[str, Any]  # task -> objectives.TaskScore
    steps: list[StepRecord] = field(default_factory=list)
    model_size_bytes: int = 0
    tokens_trained: int = 0
    trainable_params: int = 0
    train_loss_final: float = float("nan")
    tokens_evaluated: int = 0
    eval_seconds: float = 0.0
    merge_seconds: float = 0.0
    quantize_seconds: float = 0.0

    @property
    def train_seconds(self) -> float:
        return sum(s.seconds for s in self.steps if s.step.startswith("lora") and not s.hit)

    @property
    def saved_seconds(self) -> float:
        return sum(s.saved_seconds for s in self.steps if s.hit)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.step == name), None)


#: Hashes memoised for this process only, where no work cache (and its memo file) is at hand.
_PROCESS_HASHES = ContentHashes()


def file_sha256(path: Path) -> str:
    return _PROCESS_HASHES.file_sha256(path)


def model_fingerprint(model_dir: str, hashes: ContentHashes | None = None) -> str:
    """Identity of a model folder: the content hashes of its files (see ``_fingerprint``)."""
    folder = Path(model_dir)
    if not folder.is_dir():
        return model_dir  # a hub id: its name is its identity
    return (hashes or _PROCESS_HASHES).folder_fingerprint(folder)


def recipe_keys(recipe: Recipe, hashes: ContentHashes | None = None) -> dict[str, str]:
    """The cache keys of every step (computed without running anything)."""
    base = model_fingerprint(recipe.base_model, hashes)
    keys = {"lora": cache_key("lora", recipe.lora.inputs(base, recipe.load, hashes))}
    partner_keys = []
    if recipe.merge is not None:
        for partner in recipe.partners:
            if isinstance(partner, LoraJob):
                k = cache_key("lora", partner.inputs(base, recipe.load, hashes))
                keys[f"lora.{partner.name}"] = k
            else:
                k = model_fingerprint(str(partner), hashes)
            partner_keys.append(k)
    keys["eval"] = cache_key(
        "eval",
        {
            "base": base,
            "lora": keys["lora"],
            "partners": partner_keys,
            "merge": asdict(recipe.merge) if recipe.merge is not None else None,
            "quantization": recipe.quantization,
            "tasks": [t if isinstance(t, str) else t.identity() for t in recipe.tasks],
            "limit": recipe.eval_limit,
        }
        | ({"load": recipe.load.identity()} if recipe.load.identity() else {}),
    )
    return keys


def run_recipe(recipe: Recipe, cache: WorkCache, *, trainer_callbacks: Any = None) -> RecipeResult:
    """Run (or reuse) every step of ``recipe``; return scores and what each step cost.

    ``trainer_callbacks(tokenizer) -> list`` adds transformers callbacks to the trial's own LoRA
    training (an intermediate evaluation for pruning); an exception they raise (such as
    ``optuna.TrialPruned``) stops the trial and caches nothing.
    """
    from objectives import TaskScore

    keys = recipe_keys(recipe, cache.hashes)
    result = RecipeResult(scores={})
    base = model_fingerprint(recipe.base_model, cache.hashes)

    def build_eval(folder: Path) -> dict[str, Any]:
        adapters = {}
        check_spending()  # between stages: a trial over its budget limit stops here
        lora = _train_cached(recipe.lora, base, recipe, cache, "lora", result, trainer_callbacks)
        adapters["lora"] = lora
        partner_models: list[tuple[str, Path | None]] = []
        if recipe.merge is not None:
            for partner in recipe.partners:
                if isinstance(partner, LoraJob):
                    step = f"lora.{partner.name}"
                    check_spending()
                    got = _train_cached(partner, base, recipe, cache, step, result, None)
                    partner_models.append((recipe.base_model, got.path))
                else:
                    partner_models.append((str(partner), None))
        check_spending()
        model, tokenizer = _build_model(recipe, lora.path, partner_models, result)
        check_spending()
        from objectives import evaluate
        from objectives.quantization import model_size_bytes

        result.model_size_bytes = model_size_bytes(model)
        started = time.perf_counter()
        scores = evaluate(
            model,
            tokenizer,
            list(recipe.tasks),
            limit=recipe.eval_limit,
            batch_size=recipe.eval_batch_size,
            device=recipe.load.device,
        )
        result.eval_seconds = time.perf_counter() - started
        result.scores = scores
        result.tokens_evaluated = sum(s.tokens for s in scores.values())
        return {
            "scores": {name: asdict(score) for name, score in scores.items()},
            "model_size_bytes": result.model_size_bytes,
            "eval_seconds": result.eval_seconds,
            "tokens_evaluated": result.tokens_evaluated,
        }

    started = time.perf_counter()
    got = cache.get_or_build("eval", {"key": keys["eval"]}, build_eval, key=keys["eval"])
    elapsed = time.perf_counter() - started
    inner = sum(s.seconds for s in result.steps)
    result.steps.insert(
        0,
        StepRecord(
            "eval",
            keys["eval"],
            got.hit,
            elapsed - inner if not got.hit else elapsed,
            got.build_seconds if got.hit else 0.0,
        ),
    )
    if got.hit:
        # The whole recipe was evaluated before: nothing below it ran either. (The eval entry's
        # build time, which included any training, is what this trial saved.)
        for step, key in keys.items():
            if step != "eval":
                result.steps.append(StepRecord(step, key, True, 0.0, 0.0))
        result.scores = {n: TaskScore(**s) for n, s in got.meta["scores"].items()}
        result.model_size_bytes = int(got.meta["model_size_bytes"])
        result.tokens_evaluated = int(got.meta.get("tokens_evaluated", 0))
    return result


def _train_cached(
    job: LoraJob,
    base_fingerprint: str,
    recipe: Recipe,
    cache: WorkCache,
    step: str,
    result: RecipeResult,
    trainer_callbacks: Any,
) -> CacheResult:
    def build(folder: Path) -> dict[str, Any]:
        from objectives import train_lora

        model, tokenizer = _load(recipe, quantization=job.quantization)
        peft_model, train = train_lora(
            model,
            tokenizer,
            job.config,
            examples=job.examples(),
            trainer_callbacks=(
                *(trainer_callbacks(tokenizer) if trainer_callbacks else ()),
                _spending_limit_callback(),
            ),
        )
        peft_model.save_pretrained(str(folder))
        return {
            "train_seconds": train.train_seconds,
            "tokens_trained": train.tokens_trained,
            "trainable_params": train.trainable_params,
            "final_loss": train.final_loss,
            "steps": train.steps,
            "truncated_examples": train.truncated_examples,
        }

    started = time.perf_counter()
    got = cache.get_or_build("lora", job.inputs(base_fingerprint, recipe.load, cache.hashes), build)
    seconds = time.perf_counter() - started
    result.steps.append(
        StepRecord(step, got.key, got.hit, seconds, got.build_seconds if got.hit else 0.0)
    )
    if step == "lora":
        result.tokens_trained = int(got.meta.get("tokens_trained", 0)) if not got.hit else 0
        result.trainable_params = int(got.meta.get("trainable_params", 0))
        result.train_loss_final = float(got.meta.get("final_loss", float("nan")))
    return got


def _spending_limit_callback() -> Any:
    """A transformers callback that stops the training of a trial over its budget limit."""
    from transformers import TrainerCallback

    class SpendingLimitCallback(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            check_spending()

    return SpendingLimitCallback()


def _build_model(
    recipe: Recipe,
    lora_dir: Path,
    partners: list[tuple[str, Path | None]],
    result: RecipeResult,
) -> tuple[Any, Any]:
    """The model to evaluate: base + LoRA (merged in), or a mergekit merge; then quantized."""
    from objectives.quantization import load_quantized, quantize_model

    if recipe.merge is None:
        from peft import PeftModel

        model, tokenizer = _load(recipe)
        model = PeftModel.from_pretrained(model, str(lora_dir)).merge_and_unload()
        started = time.perf_counter()
        quantized = quantize_model(model, recipe.quantization)
        result.quantize_seconds = time.perf_counter() - started
        return quantized.model, tokenizer

    from objectives import merge_config_for_share, merge_models

    m = recipe.merge
    config = merge_config_for_share(
        m.method,
        (recipe.base_model, lora_dir),
        partners,
        share=m.weight,
        base_model=recipe.base_model,
        density=m.density,
        dtype=m.dtype,
        seed=m.seed,
    )
    work = Path(tempfile.mkdtemp(prefix="sweeper-merge-"))
    try:
        merged = merge_models(config, work / "merged", device=recipe.load.device)
        result.merge_seconds = merged.seconds
        started = time.perf_counter()
        quantized = load_quantized(merged.out_dir, recipe.quantization, device=recipe.load.device)
        result.quantize_seconds = time.perf_counter() - started
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            recipe.base_model,
            revision=recipe.load.revision,
            trust_remote_code=recipe.load.trust_remote_code,
        )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return quantized.model, tokenizer
    finally:
        # The merged folder is as large as the base model: never kept. (On POSIX, weights that
        # are still memory-mapped stay readable after the files are unlinked.)
        shutil.rmtree(work, ignore_errors=True)


def _load(recipe: Recipe, *, quantization: str = "none") -> tuple[Any, Any]:
    """The base model and tokenizer as the recipe's ``load`` says, on the trial's device."""
    from objectives import load_model

    return load_model(
        recipe.base_model,
        device=recipe.load.device,
        dtype=recipe.load.dtype,
        revision=recipe.load.revision,
        trust_remote_code=recipe.load.trust_remote_code,
        quantization=quantization,
    )
