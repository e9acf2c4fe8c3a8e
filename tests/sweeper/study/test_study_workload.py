"""A study on the user's own training data and model: data formats and key names, model options
and target modules checked when the study is loaded (one line, exit 2, before anything trains),
and a sweep that trains on a chat file with gradient accumulation, logged to MLflow."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import mlflow
import optuna
import pytest
import yaml

from sweeper.cli import main
from sweeper.errors import StudyFileError
from sweeper.runner import model_load
from sweeper.study import load_study
from tests.conftest import demo_study_data, write_study

CHAT = [
    {"role": "user", "content": "Extract the name: Tom from Oslo ordered 2 mugs."},
    {"role": "assistant", "content": '{"name": "Tom"}'},
]


def study_file(tmp_path: Path, model_dir: Path, rows: list | None = None, **sections) -> Path:
    data = copy.deepcopy(demo_study_data())
    data["name"] = "workload"
    data["model"] = {"path": str(model_dir)}
    data["training"] = {"steps_per_epoch": 2, "batch_size": 2, "seq_len": 96}
    data["eval"]["limit"] = 2
    data["eval"]["batch_size"] = 2
    data["trials"] = 1
    data["sampler"] = {"name": "random"}
    if rows is not None:
        train = tmp_path / "train.jsonl"
        train.write_text("".join(json.dumps(r) + "\n" for r in rows))
        data["data"] = {"train": "train.jsonl"}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return write_study(tmp_path / "study.yaml", data)


QA = [{"question": f"Name of: {n} from Oslo", "answer": f'{{"name": "{n}"}}'} for n in "ABCD"]


def test_own_key_names_and_formats_load(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = study_file(
        tmp_path,
        tiny_model_dir,
        QA,
        data={"fields": {"prompt": "question", "completion": "answer"}},
    )
    loaded = load_study(path)
    assert loaded.train_format == "prompt_completion"
    assert loaded.spec.model.dtype == "auto" and loaded.spec.model.trust_remote_code is False
    chat = study_file(tmp_path, tiny_model_dir, [{"messages": CHAT}])
    assert load_study(chat).train_format == "chat"


@pytest.mark.parametrize(
    ("rows", "sections", "field", "valid"),
    [
        ([], {}, "(file)", "a training file needs at least one record"),
        (
            [QA[0], "BROKEN"],
            {"data": {"fields": {"prompt": "question", "completion": "answer"}}},
            "line 2",
            "not valid JSON",
        ),
        (
            [QA[0], {"question": "q"}],
            {"data": {"fields": {"prompt": "question", "completion": "answer"}}},
            "line 2: answer",
            "a string (completion) is required, missing found (format prompt_completion)",
        ),
        (QA, {}, "line 1", "no known format matches the first record"),
        (
            QA,
            {"data": {"fields": {"answer": "x"}}},
            "data.fields.answer",
            "not a field of format any format; valid: completion, input, instruction",
        ),
        (QA, {"data": {"format": "sharegpt"}}, "data.format", "unknown data format 'sharegpt'"),
        (QA[:1], {"model": {"dtype": "float8"}}, "model.dtype", "unknown model dtype 'float8'"),
        (
            [{"text": "x"}],
            {"search_space": {"target_modules": {"choices": ["q_v", ["c_attn"]]}}},
            "search_space.target_modules",
            "target_modules names 'c_attn', which this model does not have; its linear "
            "modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
        ),
        (
            [{"text": "x"}],
            {"model": {"path": "some-org/some-model-7b"}},
            "model.path",
            "in the local Hugging Face cache, and HF_HUB_OFFLINE is set",
        ),
    ],
)
def test_bad_workload_is_one_line_and_exit_2_through_the_cli(
    tmp_path: Path, tiny_model_dir: Path, capsys, rows, sections, field: str, valid: str
) -> None:
    rows = [r if r != "BROKEN" else None for r in rows]
    path = study_file(tmp_path, tiny_model_dir, [r for r in rows if r is not None], **sections)
    if None in rows:  # a malformed line where the placeholder was
        lines = path.parent.joinpath("train.jsonl").read_text().splitlines()
        lines.insert(rows.index(None), "{not json")
        path.parent.joinpath("train.jsonl").write_text("\n".join(lines) + "\n")
    code = main(["quote", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert f"field '{field}'" in err and valid in err
    assert "Traceback" not in err
    named = tmp_path / "train.jsonl" if field.startswith("line") or field == "(file)" else path
    assert f"{named}: field '{field}'" in err


def test_a_dataset_folder_is_training_data(tmp_path: Path, tiny_model_dir: Path) -> None:
    from datasets import Dataset

    Dataset.from_list(QA).save_to_disk(str(tmp_path / "qa"))
    path = study_file(
        tmp_path,
        tiny_model_dir,
        data={"train": "qa", "fields": {"prompt": "question", "completion": "answer"}},
    )
    assert load_study(path).train_file == (tmp_path / "qa").resolve()


def test_cpu_refuses_fp16_and_qlora_before_any_trial(tmp_path: Path, tiny_model_dir: Path) -> None:
    text = [{"text": "x"}]
    fp16 = load_study(study_file(tmp_path, tiny_model_dir, text, model={"dtype": "fp16"}))
    with pytest.raises(StudyFileError, match="field 'model.dtype'.*needs a CUDA device"):
        model_load(fp16, "cpu")
    nf4 = load_study(
        study_file(
            tmp_path,
            tiny_model_dir,
            [{"text": "x"}],
            search_space={"train_quantization": {"choices": ["none", "nf4"]}},
        )
    )
    with pytest.raises(StudyFileError, match="train_quantization'.*needs a CUDA device"):
        model_load(nf4, "cpu")
    load = model_load(load_study(study_file(tmp_path, tiny_model_dir, text)), "auto")
    assert (load.device, load.dtype) == ("cpu", "float32")


def test_sweep_trains_on_chat_data_with_grad_accum(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"messages": CHAT}] * 8
    path = study_file(
        tmp_path,
        tiny_model_dir,
        rows,
        training={"steps_per_epoch": 2, "batch_size": 2, "seq_len": 96, "grad_accum": 2},
        search_space={
            "lora_r": {"choices": [4]},
            "target_modules": {"value": "attention"},
        },
    )
    storage, tracking = f"sqlite:///{tmp_path / 's.db'}", f"sqlite:///{tmp_path / 'm.db'}"
    code = main(
        ["run", str(path), "--storage", storage, "--tracking-uri", tracking, "--no-baseline"]
    )
    assert code == 0
    [trial] = optuna.load_study(study_name="workload", storage=storage).trials
    assert trial.state.name == "COMPLETE"
    params = trial.user_attrs["mlflow_params"]
    assert params["data_format"] == "chat"
    assert params["grad_accum"] == 2 and params["device"] == "cpu"
    assert params["model_dtype"] == "float32" and params["trust_remote_code"] is False
    assert params["train_quantization"] == "none"
    assert "peak_gpu_memory_bytes" not in trial.user_attrs["metrics"]  # no GPU here
    mlflow.set_tracking_uri(tracking)
    df = mlflow.search_runs(experiment_names=["workload"], output_format="pandas")
    child = df[df["tags.sweeper.role"] == "trial"].iloc[0]
    assert child["params.trust_remote_code"] == "False"
    assert child["params.data_format"] == "chat"
    assert float(child["metrics.tokens_trained"]) > 0


def test_unknown_device_is_refused_by_the_cli(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    path = study_file(tmp_path, tiny_model_dir, [{"text": "x"}])
    code = main(["run", str(path), "--device", "tpu", "--no-mlflow"])
    assert code == 2
    assert "Unknown device 'tpu'" in capsys.readouterr().err
    assert yaml.safe_load(path.read_text())["name"] == "workload"
