"""An evaluation task as a study uses it: what lm-eval runs, which metric is the objective, how.

Built when the study file is loaded (``objectives.eval_tasks.resolve``) and handed to
``objectives.evaluate``, to trials and to quotes. A bundled task name alone is an ``EvalTask``
with every option at its default, whose ``key`` and ``identity`` are the bare name: studies that
name bundled tasks evaluate, cache and record exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from objectives.eval_tasks._jsonl import JsonlTask


@dataclass(frozen=True)
class TaskOptions:
    """Per-task settings a study may give (None: the default).

    ``metric``: which of the task's metrics is the objective value (default: the task's first,
    or the bundled task's headline). ``num_fewshot``: examples put before each prompt.
    ``limit``: items evaluated (default: ``eval.limit``). ``chat_template``: wrap prompts in
    the tokenizer's chat template (default: when the tokenizer has one). ``max_gen_toks``: the
    most tokens generated per answer (generative tasks).
    """

    metric: str | None = None
    num_fewshot: int | None = None
    limit: int | None = None
    chat_template: bool | None = None
    max_gen_toks: int | None = None

    def changed(self) -> dict[str, Any]:
        """The options given, by name (empty when all are defaults)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class EvalTask:
    """One lm-eval task (or group) and how the study evaluates it.

    ``name`` is what lm-eval calls it; ``metric`` the objective value (resolved: never None);
    ``metrics`` every metric the task reports, when known from its config. ``include_paths``
    are the task folders its ``TaskManager`` must index besides the bundled one;
    ``needs_registry`` says it comes from lm-eval's own task catalogue. ``jsonl`` is set for a
    task built from a JSONL file and a scorer (lm-eval runs it from a generated config).
    ``options.metric`` is kept only when it differs from the task's default metric.
    """

    name: str
    metric: str
    metrics: tuple[str, ...] = ()
    options: TaskOptions = field(default_factory=TaskOptions)
    include_paths: tuple[str, ...] = ()
    needs_registry: bool = False
    jsonl: JsonlTask | None = None
    #: sha256 of the task's own YAML (an include_path task), so that editing it is a new task.
    source_sha256: str = ""

    @property
    def limit(self) -> int | None:
        return self.options.limit

    def with_limit(self, limit: int | None) -> EvalTask:
        """The same task on at most ``limit`` items (a pruning check's small sample)."""
        return replace(self, options=replace(self.options, limit=limit))

    @property
    def key(self) -> str:
        """A unique, readable label: the task name, plus the options that change its result."""
        custom = self.options.changed()
        if not custom:
            return self.name
        return f"{self.name}({','.join(f'{k}={v}' for k, v in sorted(custom.items()))})"

    def identity(self) -> str | dict[str, Any]:
        """What determines this task's scores, for cache keys: the bare name for a bundled or
        registry task at its defaults; else its options, folders and data file hash too."""
        custom = self.options.changed()
        if not custom and not self.include_paths and self.jsonl is None:
            return self.name
        return {
            "name": self.name,
            "options": custom,
            "include_paths": list(self.include_paths),
            "source_sha256": self.source_sha256,
            "jsonl": self.jsonl.identity() if self.jsonl is not None else None,
        }
