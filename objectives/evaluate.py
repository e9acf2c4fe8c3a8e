"""Evaluating an in-memory model on the bundled lm-eval tasks.

Each task runs through ``lm_eval.simple_evaluate`` with the tokenizer's chat
template applied (the same formatting the LoRA training uses), one task at a
time so that each gets its own wall time and token count.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from objectives.errors import ObjectiveError
from objectives.registry import TASK_DIR, TASKS, TaskSpec, get_task

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


@functools.cache
def task_manager() -> Any:
    """The process-wide lm-eval ``TaskManager`` over this package's task folder.

    Built on first use and cached; only the bundled tasks are indexed (lm-eval's
    own catalogue is skipped, which keeps construction in milliseconds).
    """
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm_eval.api.task").addFilter(_drop_custom_dataset_hint)
    return TaskManager(include_path=str(TASK_DIR), include_defaults=False)


def _drop_custom_dataset_hint(record: logging.LogRecord) -> bool:
    """Silence lm-eval's per-task hint about ``--metadata``, logged for every task that
    loads its data through ``custom_dataset`` (all of ours); it suggests nothing useful here."""
    return "Custom kwargs can be passed to `--metadata`" not in record.getMessage()


def evaluate(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    tasks: Sequence[str],
    *,
    limit: int | None = None,
    batch_size: int = 8,
    device: str | None = None,
) -> dict[str, TaskScore]:
    """Score ``model`` (a transformers or peft model) on the named tasks.

    ``limit`` caps the items per task (None: the whole eval set). The model is put in
    eval mode where it is, or first moved to ``device`` if given (``objectives.device``).
    Prompts use the tokenizer's chat template when it has one, plain text otherwise.
    Returns one ``TaskScore`` per task name.
    """
    specs = [get_task(name) for name in tasks]
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
        with _without_environment_report():
            output = simple_evaluate(
                model=lm,
                tasks=[spec.name],
                task_manager=task_manager(),
                limit=limit,
                apply_chat_template=bool(getattr(tokenizer, "chat_template", None)),
                log_samples=True,
            )
        seconds = time.perf_counter() - start
        if output is None or spec.name not in output.get("results", {}):
            raise ObjectiveError(f"lm-eval returned no result for task {spec.name!r}.")
        samples = output.get("samples", {}).get(spec.name, [])
        scores[spec.name] = score_from_results(
            spec,
            output["results"][spec.name],
            seconds=seconds,
            tokens=count_tokens(samples, tokenizer),
        )
    return scores


@contextlib.contextmanager
def _without_environment_report() -> Iterator[None]:
    """Skip the environment report ``simple_evaluate`` appends to every result.

    It runs ``torch.utils.collect_env`` (about 2.6 s of subprocesses here) and ``git describe``
    (which prints "fatal: not a git repository" outside a checkout) on every call, i.e. twice per
    trial; the sweeper records its own provenance instead. Only these two hooks are replaced.
    """
    import lm_eval.evaluator as evaluator

    saved = evaluator.add_env_info, evaluator.get_git_commit_hash
    evaluator.add_env_info = lambda storage: None
    evaluator.get_git_commit_hash = lambda: None
    try:
        yield
    finally:
        evaluator.add_env_info, evaluator.get_git_commit_hash = saved


def score_from_results(
    spec: TaskSpec, results: Mapping[str, Any], *, seconds: float = math.nan, tokens: int = 0
) -> TaskScore:
    """Turn lm-eval's per-task result dict (keys like ``"acc,none"``) into a ``TaskScore``."""
    metrics: dict[str, float] = {}
    for key, raw in results.items():
        name, _, _filter = key.partition(",")
        if not _filter:
            continue  # "alias", "name", "sample_len"
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
