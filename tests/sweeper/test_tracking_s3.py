"""Trial artifacts through an MLflow server whose artifact store is S3 (moto server, boto3)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sweeper.cli import main
from tests.servers import S3Server, mlflow_server


def test_each_trial_run_stores_trial_json_in_s3(
    tiny_study: Path, tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    bucket = f"mlflow-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(bucket)
    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    with mlflow_server(
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        tmp_path / "server",
        artifacts_destination=f"s3://{bucket}/artifacts",
        env=s3.env,  # the server writes to S3; this client only talks to the server
    ) as server:
        argv = ["run", str(tiny_study), "--storage", storage, "--tracking-uri", server.url]
        assert main([*argv, "--no-baseline"]) == 0
        client = MlflowClient(server.url)
        exp = client.get_experiment_by_name("tiny")
        runs = client.search_runs([exp.experiment_id], "tags.`sweeper.role` = 'trial'")
        assert len(runs) == 2
        for run in runs:
            assert run.info.artifact_uri.startswith("mlflow-artifacts:")
            # Pareto-optimal trials also hold their LoRA adapter and recipe.yaml.
            expected = ["trial.json"]
            if run.data.tags["pareto"] == "true":
                expected = ["adapter", "recipe.yaml", "trial.json"]
            assert [a.path for a in client.list_artifacts(run.info.run_id)] == expected

    s3_client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=s3.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3.env["AWS_SECRET_ACCESS_KEY"],
    )
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    by_run = {run.info.run_id: run for run in runs}
    records = {}
    for key in keys:
        assert key.startswith(f"artifacts/{exp.experiment_id}/"), key
        if not key.endswith("/trial.json"):
            # the parent run's Pareto charts, logged images and study file; front adapters
            assert re.search(r"/artifacts/(pareto|images|study|adapter)/|/recipe\.yaml$", key), key
            continue
        run_id = key.split("/")[2]
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        records[run_id] = json.loads(body)
    assert set(records) == set(by_run)  # exactly one trial.json per trial run, in S3
    for run_id, record in records.items():
        run = by_run[run_id]
        assert record["study"] == "tiny"
        assert str(record["trial_number"]) == run.data.tags["sweeper.trial_number"]
        assert record["params"]["learning_rate"] == pytest.approx(
            float(run.data.params["learning_rate"])
        )
