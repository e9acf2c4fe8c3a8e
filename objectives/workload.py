"""How much work evaluating a task is, read from its data: for quotes made before any trial ran.

Token counts are estimates (about 4 characters per token plus the chat template's own prompt);
the first completed trial replaces them with measured times.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

from objectives.registry import TASK_DIR, get_task
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
def task_workload(name: str, limit: int | None = None) -> EvalWorkload:
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
