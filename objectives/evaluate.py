"""Evaluating an in-memory model on lm-eval tasks (``objectives.eval_tasks``).

Each task runs through ``lm_eval.simple_evaluate``, one task at a time so that each gets its own
wall time, token count and settings: the tokenizer's chat template applied (the formatting the
LoRA training uses) unless the task says otherwise or the tokenizer has none, and the task's own
few-shot count, item limit and generation length.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from objectives.errors import ObjectiveError
from objectives.eval_tasks import EvalTask, bundled_task
from objectives.eval_tasks import task_manager as _task_manager
from objectives.registry import TASKS
from objectives.upstream.lm_eval import without_environment_report

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["TASKS", "TaskScore", "evaluate", "task_manager"]


@dataclass(frozen=True)
class TaskScore:
    """One task's result.

    ``value`` is the headline ``metric`` (in [0, 1], higher is better) and ``stderr``
    its standard error over items (nan when lm-eval gives none). ``all_metrics``
    maps every reported metric and ``<metric>_stderr`` to a float. ``seconds`` is
    the task's evaluation wall time; ``tokens`` approximates the tokens the model
    processed (prompts, scored continuations and generated answers).
    """

    task: str
    metric: str
    value: float
    stderr: float
    n_samples: int
    all_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = math.nan
    tokens: int = 0


def task_manager() -> Any:
    """The process-wide lm-eval ``TaskManager`` over the bundled tasks (built once)."""
    return _task_manager()


def evaluate(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[str | EvalTask],
    *,
    limit: int | None = None,
    batch_size: int = 8,
    device: str | None = None,
) -> dict[str, TaskScore]:
    """Score ``model`` (a transformers or peft model) on ``tasks``.

    A task is an ``EvalTask`` (``objectives.eval_tasks``) or a bundled task's name. ``limit``
    caps the items of every task that sets no limit of its own (None: the whole eval set). The
    model is put in eval mode where it is, or first moved to ``device`` if given
    (``objectives.device``). Prompts use the tokenizer's chat template when it has one (unless the
    task says otherwise), plain text otherwise. Returns one ``TaskScore`` per task, keyed by
    ``EvalTask.key`` (a bundled task's name).
    """
    specs = [t if isinstance(t, EvalTask) else bundled_task(t) for t in tasks]
    if not specs:
        raise ObjectiveError(f"No task to evaluate. Available: {', '.join(TASKS)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ObjectiveError(f"`limit` must be a positive integer or None, but got {limit=}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ObjectiveError(f"`batch_size` must be a positive integer, but got {batch_size=}.")

    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    if device is not None and str(next(model.parameters()).device) != device:
        model.to(device)
    model.eval()
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    scores: dict[str, TaskScore] = {}
    for spec in specs:
        start = time.perf_counter()
        with without_environment_report():  # lm-eval's report takes 2.6 s per call
            output = simple_evaluate(
                model=lm,
                tasks=[_lm_eval_spec(spec)],
                task_manager=_task_manager(spec.include_paths, with_registry=spec.needs_registry),
                limit=spec.limit if spec.limit is not None else limit,
                num_fewshot=spec.options.num_fewshot,
                gen_kwargs=_generation_overrides(spec),
                apply_chat_template=_use_chat_template(spec, tokenizer),
                log_samples=True,
            )
        seconds = time.perf_counter() - start
        if output is None or spec.name not in output.get("results", {}):
            raise ObjectiveError(f"lm-eval returned no result for task {spec.name!r}.")
        samples = [s for task_samples in output.get("samples", {}).values() for s in task_samples]
        scores[spec.key] = score_from_results(
            spec,
            output["results"][spec.name],
            seconds=seconds,
            tokens=count_tokens(samples, tokenizer),
        )
    return scores


def _lm_eval_spec(task: EvalTask) -> str | dict[str, Any]:
    """What ``simple_evaluate`` is given: a task name, or a JSONL task's inline config."""
    if task.jsonl is None:
        return task.name
    return task.jsonl.lm_eval_config(task.options.max_gen_toks)


def _use_chat_template(task: EvalTask, tokenizer: PreTrainedTokenizerBase) -> bool:
    """The task's choice, else whether the tokenizer has a chat template (base models do not)."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if task.options.chat_template is None:
        return has_template
    if task.options.chat_template and not has_template:
        raise ObjectiveError(
            f"task {task.name!r} asks for `chat_template: true`, but the tokenizer has no chat "
            "template; set `chat_template: false` to evaluate on plain prompts"
        )
    return task.options.chat_template


def _generation_overrides(task: EvalTask) -> dict[str, Any] | None:
    """``max_gen_toks`` for a named task (a JSONL task builds it into its config)."""
    if task.options.max_gen_toks is None or task.jsonl is not None:
        return None
    return {"max_gen_toks": task.options.max_gen_toks}


def score_from_results(
    spec: EvalTask | Any, results: Mapping[str, Any], *, seconds: float = math.nan, tokens: int = 0
) -> TaskScore:
    """Turn lm-eval's per-task result dict (keys like ``"acc,none"``) into a ``TaskScore``.

    ``spec`` is anything with the task's ``name`` and headline ``metric`` (an ``EvalTask``)."""
    metrics: dict[str, float] = {}
    for key, raw in results.items():
        name, _, _filter = key.partition(",")
        if not _filter:
            continue  # "alias", "name", "sample_len"
        if name not in metrics or _filter == "none":  # prefer the unfiltered value
            metrics[name] = _to_float(raw)
    if spec.metric not in metrics:
        raise ObjectiveError(
            f"lm-eval reported no {spec.metric!r} for task {spec.name!r}; got {sorted(metrics)}."
        )
    return TaskScore(
        task=spec.name,
        metric=spec.metric,
        value=metrics[spec.metric],
        stderr=metrics.get(f"{spec.metric}_stderr", math.nan),
        n_samples=int(results.get("sample_len", 0) or 0),
        all_metrics=metrics,
        seconds=seconds,
        tokens=tokens,
    )


def count_tokens(samples: Sequence[Mapping[str, Any]], tokenizer: PreTrainedTokenizerBase) -> int:
    """Approximate tokens processed for lm-eval's logged samples.

    Each request counts its context plus its scored continuation (multiple choice)
    or generated answer (generation). Contexts repeated across a question's choices
    are counted once per choice, as the model reads them once per choice.
    """
    texts: list[str] = []
    for sample in samples:
        for argument in sample.get("arguments", []):
            texts.extend(part for part in argument if isinstance(part, str))
        if sample.get("arguments") and isinstance(sample["arguments"][0][-1], dict):
            texts.extend(
                resp for group in sample.get("resps", []) for resp in group if isinstance(resp, str)
            )
    if not texts:
        return 0
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return sum(len(ids) for ids in encoded)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan  # lm-eval writes "N/A" for a stderr it did not compute
