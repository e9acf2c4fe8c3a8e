"""Evaluation tasks in their three forms, resolved and run through real lm-eval on the tiny model:
a JSONL file + scorer (each scorer), a user's own task folder, and lm-eval's registry offline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from objectives import load_model
from objectives.errors import EvalTaskError
from objectives.eval_tasks import TaskOptions, jsonl_task, named_task, task_manager
from objectives.evaluate import evaluate
from objectives.upstream.lm_eval import without_environment_report

REPO = Path(__file__).resolve().parents[3]
USER_TASKS = REPO / "tests" / "data" / "user_study" / "tasks"

GENERATION_ROWS = [
    {"q": "Invoice: Paid 12.50 EUR to Acme.", "a": {"vendor": "Acme", "currency": "EUR"}},
    {"q": "Invoice: Paid 7 USD to Lumen.", "a": {"vendor": "Lumen", "currency": "USD"}},
    {"q": "Invoice: Paid 3 GBP to Orbit.", "a": {"vendor": "Orbit", "currency": "GBP"}},
]
CHOICE_ROWS = [
    {"prompt": "Currency of Japan?", "choices": ["EUR", "JPY", "USD"], "target": 1},
    {"prompt": "Currency of Italy?", "choices": ["EUR", "JPY", "USD"], "target": "EUR"},
    {"prompt": "Currency of Ohio?", "choices": ["EUR", "JPY", "USD"], "target": "USD"},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    return load_model(str(tiny_model_dir))


def run_lm_eval(tiny, task):
    """lm-eval's own output for ``task``, with every logged sample."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    model, tokenizer = tiny
    with without_environment_report():
        return simple_evaluate(
            model=HFLM(pretrained=model, tokenizer=tokenizer, batch_size=4),
            tasks=[task.jsonl.lm_eval_config()],
            task_manager=task_manager(),
            apply_chat_template=True,
            log_samples=True,
        )


@pytest.mark.parametrize(
    ("scorer", "pattern", "target_key"),
    [
        ("exact_match", None, "vendor"),
        ("contains", None, "vendor"),
        ("regex", r"(\w+)", "vendor"),
        ("json_fields", None, None),
    ],
)
def test_jsonl_generation_task_runs_in_lm_eval_and_scores_with_its_scorer(
    tmp_path: Path, tiny, scorer: str, pattern: str | None, target_key: str | None
) -> None:
    rows = [
        {"question": r["q"], "answer": r["a"][target_key] if target_key else r["a"]}
        for r in GENERATION_ROWS
    ]
    path = write_jsonl(tmp_path / "eval.jsonl", rows)
    task = jsonl_task(path, scorer, {"prompt": "question", "target": "answer"}, pattern)
    output = run_lm_eval(tiny, task)
    samples = output["samples"][task.name]
    assert len(samples) == len(rows)
    made = task.jsonl.scorer
    # lm-eval's per-item metrics are exactly the scorer's on the answer the model generated.
    for sample in samples:
        row = rows[sample["doc_id"]]
        assert sample["doc"]["prompt"] == row["question"]
        expected = made.score(sample["filtered_resps"][0], row["answer"])
        assert {m: sample[m] for m in made.metrics} == expected
    result = output["results"][task.name]
    headline = made.metrics[0]
    mean = sum(s[headline] for s in samples) / len(samples)
    assert result[f"{headline},none"] == pytest.approx(mean)
    assert f"{headline}_stderr,none" in result


def test_jsonl_choice_task_ranks_choices_by_log_likelihood(tmp_path: Path, tiny) -> None:
    path = write_jsonl(tmp_path / "quiz.jsonl", CHOICE_ROWS)
    task = jsonl_task(path, "choice")
    output = run_lm_eval(tiny, task)
    samples = output["samples"][task.name]
    golds = [1, 0, 2]  # "EUR" and "USD" named by their text
    for sample in samples:
        assert sample["target"] == golds[sample["doc_id"]]
        lls = [resp[0][0] for resp in sample["resps"]]
        assert len(lls) == 3
        best = max(range(3), key=lambda i: lls[i])
        assert sample["acc"] == float(best == golds[sample["doc_id"]])
    assert output["results"][task.name]["acc,none"] == pytest.approx(
        sum(s["acc"] for s in samples) / 3
    )


def test_evaluate_runs_every_form_with_its_options(tmp_path: Path, tiny) -> None:
    model, tokenizer = tiny
    gen = write_jsonl(
        tmp_path / "eval.jsonl", [{"prompt": r["q"], "target": r["a"]} for r in GENERATION_ROWS]
    )
    quiz = write_jsonl(tmp_path / "quiz.jsonl", CHOICE_ROWS)
    tasks = [
        jsonl_task(gen, "json_fields", options=TaskOptions(max_gen_toks=8, limit=2)),
        jsonl_task(quiz, "choice", options=TaskOptions(metric="acc_norm", num_fewshot=1)),
        named_task("currency_codes", TaskOptions(limit=4), include_paths=[str(USER_TASKS)]),
        named_task("sweeper_general", TaskOptions(chat_template=False)),
    ]
    scores = evaluate(model, tokenizer, tasks, limit=3, batch_size=4)
    assert list(scores) == [t.key for t in tasks]
    by_task = {t.name: scores[t.key] for t in tasks}
    assert [by_task[t.name].n_samples for t in tasks] == [2, 3, 4, 3]
    assert by_task[tasks[1].name].metric == "acc_norm"
    assert tasks[1].key.endswith("(metric=acc_norm,num_fewshot=1)")
    for score in scores.values():
        assert 0.0 <= score.value <= 1.0
        assert not math.isnan(score.stderr)
        assert score.tokens > 0


def test_include_path_task_resolves_from_the_users_folder() -> None:
    task = named_task("currency_codes", include_paths=[str(USER_TASKS)])
    assert (task.metric, task.metrics) == ("acc", ("acc", "acc_norm"))
    assert task.include_paths == (str(USER_TASKS),) and not task.needs_registry
    assert task.source_sha256  # editing the task's YAML makes it a new task for the caches
    with pytest.raises(EvalTaskError) as err:
        named_task("currency_codes")  # without the folder
    assert err.value.field == "task"


def test_bundled_task_stays_its_bare_name() -> None:
    task = named_task("sweeper_json_extract", TaskOptions(metric="field_accuracy"))
    assert task.key == "sweeper_json_extract"
    assert task.identity() == "sweeper_json_extract"  # the cache keys of bundled studies stay
    assert task.metric == "field_accuracy"
    limited = task.with_limit(5)
    assert limited.key == "sweeper_json_extract(limit=5)"
    assert limited.identity() != task.identity()


def test_metric_the_task_lacks_suggests_the_closest() -> None:
    with pytest.raises(EvalTaskError) as err:
        named_task("sweeper_general", TaskOptions(metric="accnorm"))
    assert err.value.field == "metric"
    assert "did you mean 'acc_norm'?" in err.value.valid
    assert "reports: acc, acc_norm" in err.value.valid


def test_registry_task_resolves_to_its_dataset_and_fails_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(EvalTaskError) as err:
        named_task("hellaswag", TaskOptions(metric="acc_norm"))
    assert err.value.field == "task"
    assert "task 'hellaswag' needs the dataset 'Rowan/hellaswag' from the Hugging Face hub" in (
        err.value.valid
    )
    assert "offline" in err.value.valid
    with pytest.raises(EvalTaskError) as err:
        named_task("hellaswg")
    assert "did you mean 'hellaswag'" in err.value.valid
    with pytest.raises(EvalTaskError) as err:
        named_task("hellaswag", TaskOptions(metric="f1"))
    assert err.value.field == "metric" and "reports: acc, acc_norm" in err.value.valid


@pytest.mark.parametrize(
    ("lines", "scorer", "fields", "field", "says"),
    [
        (
            ['{"prompt": "a", "target": "b"}', '{"prompt": "a", '],
            "exact_match",
            {},
            "file",
            "eval.jsonl line 2 is not valid JSON",
        ),
        (['["a", "b"]'], "exact_match", {}, "file", "line 1 is a list"),
        (
            ['{"question": "a", "target": "b"}'],
            "exact_match",
            {},
            "fields.prompt",
            "line 1 has no key 'prompt' (its keys: question, target)",
        ),
        (
            ['{"prompt": "a", "answer": "b"}'],
            "exact_match",
            {"target": "label"},
            "fields.target",
            "has no key 'label'",
        ),
        (
            ['{"prompt": "a", "target": "not json"}'],
            "json_fields",
            {},
            "fields.target",
            "needs a non-empty JSON object",
        ),
        (
            ['{"prompt": "a", "target": 5, "choices": ["x", "y"]}'],
            "choice",
            {},
            "fields.target",
            "neither an index below 2 nor one of the choices",
        ),
        (
            ['{"prompt": "a", "target": 0, "choices": "xy"}'],
            "choice",
            {},
            "fields.choices",
            "not a list of at least 2",
        ),
        ([""], "exact_match", {}, "file", "holds no rows"),
        (
            ['{"prompt": "a", "target": "b"}'],
            "exact_match",
            {"answer": "b"},
            "fields.answer",
            "valid roles: prompt, target, choices",
        ),
    ],
)
def test_bad_jsonl_eval_file_names_line_field_and_what_is_valid(
    tmp_path: Path, lines: list[str], scorer: str, fields: dict, field: str, says: str
) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvalTaskError) as err:
        jsonl_task(path, scorer, fields)
    assert err.value.field == field
    assert says in err.value.valid, err.value.valid


def test_quote_workload_reads_each_form(tmp_path: Path) -> None:
    from objectives.workload import task_workload

    user_data = REPO / "tests" / "data" / "user_study" / "data" / "eval.jsonl"
    fields = {"prompt": "question", "target": "answer"}
    generation = task_workload(jsonl_task(user_data, "json_fields", fields), limit=30)
    assert (generation.n_items, generation.n_generations, generation.n_requests) == (30, 30, 30)
    assert (
        generation.max_new_tokens
        == jsonl_task(user_data, "json_fields", fields).jsonl.default_max_gen_toks
    )
    quiz = write_jsonl(tmp_path / "quiz.jsonl", CHOICE_ROWS)
    choice = task_workload(jsonl_task(quiz, "choice"))
    assert (choice.n_items, choice.n_generations, choice.n_requests) == (3, 0, 9)
    folder = named_task("currency_codes", include_paths=[str(USER_TASKS)])
    built = task_workload(folder, limit=10)  # through lm-eval's own task object
    assert (built.n_items, built.n_generations, built.n_requests) == (10, 0, 50)
    bundled = named_task("sweeper_json_extract")
    assert task_workload(bundled, limit=5) == task_workload("sweeper_json_extract", limit=5)
    assert task_workload(bundled.with_limit(3), limit=5).n_items == 3
