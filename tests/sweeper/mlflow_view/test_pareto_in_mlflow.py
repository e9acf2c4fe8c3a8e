"""The Pareto review in MLflow, end to end: a tiny sweep against a real ``mlflow server`` whose
artifacts live in S3 (moto), then what a reviewer does with it -- open the printed link in a fresh
Chromium, open the registered model, download the recommended adapter on "another machine" and
load it with peft, export a trial from the work cache, open the study in optuna-dashboard -- and
what the runs carry.

One sweep (4 trials on the tiny random model) serves every test of this module. Screenshots go
to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.cli import main
from sweeper.mlflow_view import (
    DESCRIPTION_TAG,
    HYPERVOLUME_IMAGE_KEY,
    PARETO_IMAGE_KEY,
    decode_view,
)
from sweeper.report import DOMINATED_COLOR, PARETO_COLOR
from tests.conftest import REPO, demo_study_data, write_study
from tests.servers import MlflowServer, S3Server, free_port, mlflow_server

SHOTS = REPO / "test-artifacts" / "browser"
TRIALS = 4
URL_LINE = re.compile(r"^Pareto view: (http://\S+)$", re.M)


@dataclass
class Sweep:
    study_file: Path
    storage: str
    cache: Path
    server: MlflowServer
    s3: S3Server
    output: str
    view_url: str
    model_dir: Path

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.server.url)

    def study(self) -> optuna.Study:
        return optuna.load_study(study_name="tiny", storage=self.storage)


@pytest.fixture(scope="module")
def sweep(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, s3: S3Server
) -> Iterator[Sweep]:
    home = tmp_path_factory.mktemp("pareto-mlflow")
    data = copy.deepcopy(demo_study_data())
    data.update(name="tiny", trials=TRIALS, sampler={"name": "random"})
    data["model"]["path"] = str(tiny_model_dir)
    data["training"] = {"steps_per_epoch": 2, "batch_size": 2, "seq_len": 64}
    data["eval"].update(limit=4, batch_size=4)
    study_file = write_study(home / "tiny.yaml", data)
    bucket = f"mlflow-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(bucket)
    storage = f"sqlite:///{home / 'sweeper.db'}"
    with ExitStack() as stack:
        server = stack.enter_context(
            mlflow_server(
                f"sqlite:///{home / 'mlflow.db'}",
                home / "server",
                artifacts_destination=f"s3://{bucket}/artifacts",
                env=s3.env,
            )
        )
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("SWEEPER_WORK_CACHE", str(home / "cache"))
        patch.chdir(home)
        out = io.StringIO()
        with redirect_stdout(out):
            argv = ["run", str(study_file), "--storage", storage, "--tracking-uri", server.url]
            assert main([*argv, "--no-baseline"]) == 0
        printed = out.getvalue()
        found = URL_LINE.search(printed)
        assert found, printed
        patch.undo()
        yield Sweep(
            study_file, storage, home / "cache", server, s3, printed, found[1], tiny_model_dir
        )


def test_the_printed_link_is_the_saved_pareto_view(sweep: Sweep) -> None:
    client = sweep.client
    exp = client.get_experiment_by_name("tiny")
    key = re.search(r"viewStateShareKey=([0-9a-f-]+)", sweep.view_url)[1]
    assert sweep.view_url == (
        f"{sweep.server.url}/#/experiments/{exp.experiment_id}/runs"
        f"?viewStateShareKey={key}&compareRunsMode=CHART"
    )
    view = decode_view(exp.tags[f"mlflow.sharedViewState.{key}"])
    assert view.name == "Pareto"
    assert view.state["orderByKey"] == "metrics.`quality`"
    # The parent run's description states the summary and the same link.
    parent = client.search_runs([exp.experiment_id], "tags.`sweeper.role` = 'parent'")[0]
    note = parent.data.tags[DESCRIPTION_TAG]
    assert f"{TRIALS} of {TRIALS} trials complete" in note
    assert f"[Open the Pareto view]({sweep.view_url})" in note
    front = sorted(t.number for t in sweep.study().best_trials)
    assert (
        "Pareto-optimal trials (runs coloured red, tag `pareto = true`): "
        + ", ".join(f"#{n}" for n in front)
        in note
    )
    # `sweeper show` prints it from the study storage, without MLflow.
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", str(sweep.study_file), "--storage", sweep.storage]) == 0
    assert f"Pareto view: {sweep.view_url}" in out.getvalue()


def test_fresh_chromium_opens_the_view_on_a_scatter_with_the_front_marked(sweep: Sweep) -> None:
    from playwright.sync_api import sync_playwright

    from tests.sweeper.report.test_browser import chromium

    browser_path = chromium()
    study = sweep.study()
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    front = {t.number for t in study.best_trials}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})  # no storage
        page = context.new_page()
        page.goto(sweep.view_url)
        page.get_by_text("Pareto", exact=True).first.wait_for(timeout=90_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".some(el => (el.data || []).some(t => t.type === 'scatter'))",
            timeout=90_000,
        )
        traces = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(el =>
                 (el.data || []).map(t => ({type: t.type, x: t.x, y: t.y,
                   color: t.marker && t.marker.color, names: t.text})))"""
        )
        page.screenshot(path=str(SHOTS / "mlflow-pareto-view.png"), full_page=True)
        # Only the view's chart: no chart MLflow generated for other metrics.
        assert [t["type"] for t in traces] == ["scatter"], traces
        scatter = traces[0]
        assert len(scatter["x"]) == len(complete)  # one point per complete trial
        by_run = dict(zip(scatter["names"], scatter["color"], strict=True))
        assert by_run == {
            f"trial-{t.number:04d}": PARETO_COLOR if t.number in front else DOMINATED_COLOR
            for t in complete
        }
        costs = sorted(float(t.user_attrs["metrics"]["cost_eur_train_projected"]) for t in complete)
        assert sorted(scatter["x"]) == pytest.approx(costs)
        assert "You're viewing a shared view" in page.inner_text("body")

        # The registered model: the recommended version, linking its run.
        client = sweep.client
        version = client.search_model_versions("name = 'tiny-recommended'")[0]
        page.goto(f"{sweep.server.url}/#/models/tiny-recommended/versions/{version.version}")
        link = page.locator(f"a[href*='{version.run_id}']").first
        link.wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "mlflow-registered-model.png"), full_page=True)
        link.click()
        page.wait_for_url(re.compile(version.run_id), timeout=60_000)
        page.get_by_text(f"trial-{int(version.tags['sweeper.trial_number']):04d}").first.wait_for(
            timeout=60_000
        )
        browser.close()


def _evaluate_adapter(sweep: Sweep, adapter: Path) -> dict[str, float]:
    """What the trial's pipeline measures, for base model + this adapter (no merge, fp32)."""
    from peft import PeftModel

    from objectives import load_model
    from objectives.evaluate import evaluate
    from objectives.quantization import quantize_model
    from sweeper.recipe import score_metrics
    from sweeper.study import load_study

    spec = load_study(str(sweep.study_file)).spec
    model, tokenizer = load_model(str(sweep.model_dir))
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model = quantize_model(model, "fp32").model
    scores = evaluate(
        model,
        tokenizer,
        list(spec.eval.tasks.values()),
        limit=spec.eval.limit,
        batch_size=spec.eval.batch_size,
        device="cpu",
    )
    return score_metrics(spec.eval.tasks, scores)


def test_recommended_adapter_downloads_from_s3_and_scores_as_recorded(
    sweep: Sweep, tmp_path: Path
) -> None:
    client = sweep.client
    version = client.search_model_versions("name = 'tiny-recommended'")[0]
    assert version.source.endswith("/adapter")
    run = client.get_run(version.run_id)
    number = int(run.data.tags["sweeper.trial_number"])
    assert version.tags["sweeper.trial_number"] == str(number)
    assert version.tags["merge"] == "none" and version.tags["quantization"] == "fp32"
    # "Another machine": the MLflow CLI with only the server's URL (artifacts come through it
    # from S3), into a folder that never saw the work cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_S3"))}
    env["MLFLOW_TRACKING_URI"] = sweep.server.url
    dst = tmp_path / "download"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "artifacts",
            "download",
            "--run-id",
            version.run_id,
            "--dst-path",
            str(dst),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert sorted(p.name for p in dst.iterdir()) == ["adapter", "recipe.yaml", "trial.json"]
    assert (dst / "adapter" / "adapter_config.json").is_file()
    recorded = sweep.study().trials[number].user_attrs["metrics"]
    measured = _evaluate_adapter(sweep, dst / "adapter")
    for name in ("quality", "retention", "retention_acc_norm"):
        assert measured[name] == pytest.approx(recorded[name]), name


def test_front_runs_hold_adapter_and_recipe_and_dominated_ones_do_not(sweep: Sweep) -> None:
    client = sweep.client
    study = sweep.study()
    front = {t.number for t in study.best_trials}
    for t in study.trials:
        names = {a.path for a in client.list_artifacts(t.user_attrs["mlflow_run_id"])}
        if t.number in front:
            assert names == {"adapter", "recipe.yaml", "trial.json"}, t.number
        else:
            assert names == {"trial.json"}, t.number


def test_export_writes_the_same_adapter_and_recipe_from_the_cache(
    sweep: Sweep, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    number = sweep.study().best_trials[0].number
    run_id = sweep.study().trials[number].user_attrs["mlflow_run_id"]
    out = tmp_path / "export"

    def export(trial: int, cache: Path) -> list[str]:
        argv = ["export", str(sweep.study_file), "--trial", str(trial), "--out", str(out)]
        return [*argv, "--storage", sweep.storage, "--cache", str(cache)]

    argv = export(number, sweep.cache)
    assert main(argv) == 0
    logged = Path(sweep.client.download_artifacts(run_id, "", str(tmp_path / "logged")))
    for f in (logged / "adapter").iterdir():
        assert (out / "adapter" / f.name).read_bytes() == f.read_bytes(), f.name
    assert (out / "recipe.yaml").read_text() == (logged / "recipe.yaml").read_text()
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recipe["trial"] == number and recipe["merge"] is None
    assert recipe["quantization"] == "fp32" and recipe["adapter"] == "adapter"

    capsys.readouterr()
    assert main(export(99, sweep.cache)) == 2
    err = capsys.readouterr().err
    assert "--trial 99: study 'tiny' has no such trial (trials: 0..3)" in err
    assert main(export(number, tmp_path / "empty-cache")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "adapter is not in the work cache" in err
    assert "mlflow artifacts download --run-id RUN --artifact-path adapter" in err


def test_runs_carry_context_study_file_datasets_and_live_charts(sweep: Sweep) -> None:
    client = sweep.client
    exp = client.get_experiment_by_name("tiny")
    parent = client.search_runs([exp.experiment_id], "tags.`sweeper.role` = 'parent'")[0]
    trials = client.search_runs([exp.experiment_id], "tags.`sweeper.role` = 'trial'")
    for run in [parent, *trials]:
        assert run.data.tags["mlflow.user"]
        assert run.data.tags["mlflow.source.type"] == "LOCAL"
        assert run.data.tags["mlflow.source.name"]
        inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
        assert set(inputs) == {
            "train:json_extract_train",
            "eval:sweeper_json_extract",
            "eval:sweeper_general",
        }
        for d in inputs.values():
            assert d.dataset.digest and "jsonl" in d.dataset.source
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "study")] == [
        "study/tiny.yaml"
    ]
    history = client.get_metric_history(parent.info.run_id, "hypervolume")
    assert {m.step for m in history} >= set(range(1, TRIALS + 1))
    spent = sorted(
        (m.step, m.value)
        for m in client.get_metric_history(parent.info.run_id, "spent_eur_total")
        if m.step >= 1
    )
    assert [v for _, v in spent] == sorted(v for _, v in spent)  # spend only grows
    images = [a.path for a in client.list_artifacts(parent.info.run_id, "images")]
    for key in (PARETO_IMAGE_KEY, HYPERVOLUME_IMAGE_KEY):
        assert any(p.startswith(f"images/{key}+step+{TRIALS}+") for p in images), images


@contextmanager
def optuna_dashboard(storage: str, log_dir: Path) -> Iterator[str]:
    """``optuna-dashboard`` serving ``storage`` on a free port of 127.0.0.1; yields its URL."""
    executable = Path(sys.executable).with_name("optuna-dashboard")
    if not executable.exists():
        from tests.conftest import _skip_or_fail
        from tests.servers import ServerUnavailable

        _skip_or_fail(
            ServerUnavailable("optuna-dashboard is not installed (pip install -e .[dev])")
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / "optuna-dashboard.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(executable), storage, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{url}/api/studies", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.25)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def test_optuna_dashboard_serves_the_finished_study(sweep: Sweep, tmp_path: Path) -> None:
    def get(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    study = sweep.study()
    with optuna_dashboard(sweep.storage, tmp_path) as url:
        summaries = get(f"{url}/api/studies")["study_summaries"]
        assert [(s["study_name"], s["directions"]) for s in summaries] == [
            ("tiny", ["maximize", "minimize"])
        ]
        detail = get(f"{url}/api/studies/{summaries[0]['study_id']}")
    # Its Pareto-front plot labels the axes with these names.
    assert detail["objective_names"] == ["quality", "cost_eur_train_projected"]
    assert [(t["number"], t["state"], t["values"]) for t in detail["trials"]] == [
        (t.number, "Complete", pytest.approx(t.values)) for t in study.trials
    ]
    assert sorted(t["number"] for t in detail["best_trials"]) == sorted(
        t.number for t in study.best_trials
    )
