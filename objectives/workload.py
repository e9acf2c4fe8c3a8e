"""How much work evaluating a task is, read from its data: for quotes made before any trial ran.

Token counts are estimates (about 4 characters per token plus the chat template's own prompt);
the first completed trial replaces them with measured times.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from objectives.errors import ObjectiveError
from objectives.eval_tasks import EvalTask, task_manager
from objectives.registry import TASK_DIR, TASKS, get_task
from objectives.task_data import read_jsonl

CHARS_PER_TOKEN = 4.0
#: Tokens the chat template adds around each prompt (SmolLM2's default system prompt and markers).
CHAT_TEMPLATE_TOKENS = 35


@dataclass(frozen=True)
class EvalWorkload:
    """One task's evaluation: items, prefill tokens in all, and generated tokens at most."""

    n_items: int
    n_generations: int
    prompt_tokens_total: float
    max_new_tokens: int
    #: Requests lm-eval batches into forward passes: one per item of a generative task (its
    #: prefill), one per choice of a multiple-choice task.
    n_requests: int = 0


def _tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


@functools.lru_cache(maxsize=64)
def task_workload(task: str | EvalTask, limit: int | None = None) -> EvalWorkload:
    """The work of evaluating ``task`` (a bundled task's name or an ``EvalTask``) on ``limit``
    items (None: all; a task's own ``limit`` wins)."""
    if isinstance(task, str):
        return _bundled_workload(task, limit)
    limit = task.limit if task.limit is not None else limit
    shots = 1 + (task.options.num_fewshot or 0)  # each few-shot example is about one more item
    if task.jsonl is not None:
        docs = task.jsonl.read_docs()[:limit]
        prompts = [d["prompt"] for d in docs]
        choices = [d["choices"] for d in docs] if "choices" in (docs[0] if docs else {}) else None
        max_new = task.options.max_gen_toks or task.jsonl.default_max_gen_toks
        return _workload(prompts, choices, max_new, shots)
    if task.name in TASKS and not task.include_paths and task.options.num_fewshot is None:
        base = _bundled_workload(task.name, limit)
        if task.options.max_gen_toks is not None and base.n_generations:
            return EvalWorkload(
                base.n_items,
                base.n_generations,
                base.prompt_tokens_total,
                task.options.max_gen_toks,
                base.n_requests,
            )
        return base
    return _lm_eval_workload(task, limit, shots)


def _workload(
    prompts: Sequence[str], choices: Sequence[Sequence[str]] | None, max_new: int, shots: int
) -> EvalWorkload:
    if choices is None:
        prompt = sum(shots * _tokens(p) + CHAT_TEMPLATE_TOKENS for p in prompts)
        return EvalWorkload(len(prompts), len(prompts), prompt, max_new, n_requests=len(prompts))
    prompt = sum(
        (shots * _tokens(p) + CHAT_TEMPLATE_TOKENS) * len(c) + sum(_tokens(x) for x in c)
        for p, c in zip(prompts, choices, strict=True)
    )
    return EvalWorkload(len(prompts), 0, prompt, 0, n_requests=sum(len(c) for c in choices))


def _lm_eval_workload(task: EvalTask, limit: int | None, shots: int) -> EvalWorkload:
    """Any other task: its documents as lm-eval builds them (this loads its dataset)."""
    manager = task_manager(task.include_paths, with_registry=task.needs_registry)
    try:
        built = manager.load(task.name)["tasks"]
    except Exception as exc:
        raise ObjectiveError(f"lm-eval cannot build task {task.name!r}: {exc}") from exc
    max_new = task.options.max_gen_toks
    parts = [_built_task_workload(t, limit, shots, max_new) for t in built.values()]
    return EvalWorkload(
        sum(p.n_items for p in parts),
        sum(p.n_generations for p in parts),
        sum(p.prompt_tokens_total for p in parts),
        max((p.max_new_tokens for p in parts), default=0),
        n_requests=sum(p.n_requests for p in parts),
    )


def _built_task_workload(
    built: Any, limit: int | None, shots: int, max_gen_toks: int | None
) -> EvalWorkload:
    docs: Iterable[Any] = built.eval_docs
    docs = list(docs)[:limit] if limit is not None else list(docs)
    prompts = [str(built.doc_to_text(d)) for d in docs]
    if built.OUTPUT_TYPE == "multiple_choice":
        return _workload(prompts, [list(built.doc_to_choice(d)) for d in docs], 0, shots)
    generation = built.config.generation_kwargs or {}
    return _workload(prompts, None, max_gen_toks or int(generation.get("max_gen_toks", 256)), shots)


def _bundled_workload(name: str, limit: int | None) -> EvalWorkload:
    spec = get_task(name)
    rows = read_jsonl(spec.eval_file)
    if limit is not None:
        rows = rows[:limit]
    config = yaml.load((TASK_DIR / name / f"{name}.yaml").read_text(), Loader=_IgnoreTags)
    generative = config.get("output_type") == "generate_until"
    if generative:
        max_new = int(config.get("generation_kwargs", {}).get("max_gen_toks", 256))
        prompt = sum(_tokens(r["prompt"]) + CHAT_TEMPLATE_TOKENS for r in rows)
        return EvalWorkload(len(rows), len(rows), prompt, max_new, n_requests=len(rows))
    prompt = sum(
        (_tokens(r["question"]) + CHAT_TEMPLATE_TOKENS) * len(r["choices"])
        + sum(_tokens(c) for c in r["choices"])
        for r in rows
    )
    return EvalWorkload(len(rows), 0, prompt, 0, n_requests=sum(len(r["choices"]) for r in rows))


class _IgnoreTags(yaml.SafeLoader):
    """lm-eval YAML uses ``!function``; its value does not matter here."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)
