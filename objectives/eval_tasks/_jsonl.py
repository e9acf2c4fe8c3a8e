"""A JSONL eval file and a built-in scorer, turned into an lm-eval task config at load time.

The file is read and checked once, when the study is loaded (every line one JSON object with
the mapped keys, every target one the scorer can read). At evaluation time ``lm_eval_config``
gives lm-eval an inline task config whose hooks are this module's functions, so lm-eval runs it
like any task (batching, chat template, few-shot, standard errors); nothing is written to disk.
Rows are normalised to the keys ``prompt``, ``target`` (its text), ``target_json`` (the value as
JSON, what the scorer reads), ``choices`` and ``gold``: the user's own key names never reach a
Jinja template.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from objectives.errors import EvalTaskError
from objectives.eval_tasks.scorers import ChoiceTarget, Scorer, choice_index

#: The roles a row's keys play, with their default key names.
FIELD_ROLES: dict[str, str] = {"prompt": "prompt", "target": "target", "choices": "choices"}
#: Generation stops at a blank line or the end of a chat turn (lm-eval adds the EOS token).
STOP_SEQUENCES = ("\n\n", "<|im_end|>", "<|eot_id|>", "<end_of_turn>")
MAX_GEN_TOKS_CAP = 256


@dataclass(frozen=True)
class JsonlTask:
    """A validated JSONL eval file and how to score it. ``fields`` maps role -> key name."""

    path: str
    scorer: Scorer
    fields: tuple[tuple[str, str], ...]
    sha256: str
    n_items: int
    #: Longest target in characters (sets the default ``max_gen_toks``).
    max_target_chars: int

    @property
    def task_name(self) -> str:
        """The lm-eval task name: the file's stem plus a hash of its content and scoring."""
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", Path(self.path).stem).strip("_") or "eval"
        return f"jsonl_{stem}_{self.scorer.name}_{self._digest()[:8]}"

    def _digest(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def identity(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "scorer": self.scorer.name,
            "scorer_settings": dict(self.scorer.__dict__),
            "fields": dict(self.fields),
        }

    @property
    def default_max_gen_toks(self) -> int:
        """Room for the longest target, at a generous 2 characters per token, plus 8."""
        return min(MAX_GEN_TOKS_CAP, max(16, math.ceil(self.max_target_chars / 2) + 8))

    def read_docs(self) -> list[dict[str, Any]]:
        """The rows as normalised docs (see the module docstring)."""
        return read_docs(Path(self.path), self.scorer, dict(self.fields))

    def lm_eval_config(self, max_gen_toks: int | None = None) -> dict[str, Any]:
        """An inline lm-eval task config (for ``TaskManager.load`` / ``simple_evaluate``)."""
        docs_loader = functools.partial(_dataset, self.path, self.scorer, self.fields)
        config: dict[str, Any] = {
            "task": self.task_name,
            "custom_dataset": docs_loader,
            "test_split": "test",
            "fewshot_split": "test",
            "doc_to_text": _prompt,
            "metric_list": [
                {"metric": m, "aggregation": "mean", "higher_is_better": True}
                for m in self.scorer.metrics
            ],
            "process_results": functools.partial(_process_results, self.scorer),
            "metadata": {"version": 1.0},
        }
        if self.scorer.output_type == "multiple_choice":
            config |= {
                "output_type": "multiple_choice",
                "doc_to_choice": _choices,
                "doc_to_target": _gold,
            }
        else:
            config |= {
                "output_type": "generate_until",
                "doc_to_target": _target_text,
                "target_delimiter": "",
                "generation_kwargs": {
                    "until": list(STOP_SEQUENCES),
                    "do_sample": False,
                    "max_gen_toks": max_gen_toks or self.default_max_gen_toks,
                },
            }
        return config


def load_jsonl_task(path: Path, scorer: Scorer, fields: Mapping[str, str]) -> JsonlTask:
    """Read and check ``path``; raises ``EvalTaskError`` naming the line and key at fault."""
    unknown = sorted(set(fields) - set(FIELD_ROLES))
    if unknown:
        raise EvalTaskError(
            f"fields.{unknown[0]}", fields[unknown[0]], f"valid roles: {', '.join(FIELD_ROLES)}"
        )
    if "choices" in fields and scorer.output_type != "multiple_choice":
        raise EvalTaskError(
            "fields.choices", fields["choices"], "a `choices` key applies only to scorer 'choice'"
        )
    mapped = {
        role: fields.get(role, default)
        for role, default in FIELD_ROLES.items()
        if role != "choices" or scorer.output_type == "multiple_choice"
    }
    if not path.is_file():
        raise EvalTaskError("file", str(path), "no such file; give a JSONL eval file")
    docs = read_docs(path, scorer, mapped)
    return JsonlTask(
        path=str(path),
        scorer=scorer,
        fields=tuple(sorted(mapped.items())),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        n_items=len(docs),
        max_target_chars=max(len(d["target"]) for d in docs),
    )


def read_docs(path: Path, scorer: Scorer, fields: Mapping[str, str]) -> list[dict[str, Any]]:
    docs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                docs.append(_doc(path, number, line, scorer, fields))
    if not docs:
        raise EvalTaskError("file", str(path), "the file holds no rows; one JSON object per line")
    return docs


def _doc(path: Path, number: int, line: str, scorer: Scorer, fields: Mapping[str, str]) -> dict:
    where = f"{path.name} line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalTaskError(
            "file", str(path), f"{where} is not valid JSON ({exc.msg}); one JSON object per line"
        ) from None
    if not isinstance(row, dict):
        raise EvalTaskError(
            "file", str(path), f"{where} is a {type(row).__name__}; one JSON object per line"
        )
    for role, key in fields.items():
        if key not in row:
            raise EvalTaskError(
                f"fields.{role}",
                key,
                f"{where} has no key {key!r} (its keys: {', '.join(map(str, row)) or 'none'}); "
                f"map yours with `fields: {{{role}: YOUR_KEY}}`",
            )
    prompt, target = row[fields["prompt"]], row[fields["target"]]
    if not isinstance(prompt, str) or not prompt.strip():
        raise EvalTaskError(
            "fields.prompt", fields["prompt"], f"{where}: the prompt must be a non-empty string"
        )
    problem = scorer.target_problem(target)
    if problem is not None:
        raise EvalTaskError(
            "fields.target",
            fields["target"],
            f"{where}: target {target!r} is not usable; scorer {scorer.name!r} needs {problem}",
        )
    doc = {"prompt": prompt, "target": _as_text(target), "target_json": json.dumps(target)}
    if scorer.output_type == "multiple_choice":
        choices = row[fields["choices"]]
        if not (
            isinstance(choices, list)
            and len(choices) >= 2
            and all(isinstance(c, str) and c for c in choices)
        ):
            raise EvalTaskError(
                "fields.choices",
                fields["choices"],
                f"{where}: {choices!r} is not a list of at least 2 non-empty strings",
            )
        gold = choice_index(target, choices)
        if gold is None:
            raise EvalTaskError(
                "fields.target",
                fields["target"],
                f"{where}: target {target!r} is neither an index below {len(choices)} nor one "
                f"of the choices {choices}",
            )
        doc |= {"choices": choices, "gold": gold}
    return doc


def _as_text(target: Any) -> str:
    return target if isinstance(target, str) else json.dumps(target, ensure_ascii=False)


# --- the hooks lm-eval calls --------------------------------------------------------------------


def _dataset(path: str, scorer: Scorer, fields: tuple[tuple[str, str], ...], **_: Any) -> Any:
    import datasets

    docs = read_docs(Path(path), scorer, dict(fields))
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def _prompt(doc: Mapping[str, Any]) -> str:
    return doc["prompt"]


def _target_text(doc: Mapping[str, Any]) -> str:
    return doc["target"]


def _choices(doc: Mapping[str, Any]) -> list[str]:
    return list(doc["choices"])


def _gold(doc: Mapping[str, Any]) -> int:
    return int(doc["gold"])


def _process_results(scorer: Scorer, doc: Mapping[str, Any], results: list[Any]) -> dict:
    target = json.loads(doc["target_json"])
    if scorer.output_type == "multiple_choice":
        # lm-eval passes one (log-likelihood, is_greedy) pair per choice.
        lls = [float(r[0]) if isinstance(r, tuple) else float(r) for r in results]
        return scorer.score(lls, ChoiceTarget(tuple(doc["choices"]), int(doc["gold"])))
    return scorer.score(results[0], target)
