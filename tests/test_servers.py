"""The real servers the suite starts: they come up, answer, and an MLflow restart keeps the runs.

(Tests of tests/servers.py: to move beside it, as tests/test_servers.py, with the fixtures.)
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

import tests.servers as servers
from tests.servers import MlflowServer, PostgresServer, S3Server, ServerUnavailable


@pytest.mark.postgres
def test_postgres_server_serves_fresh_databases(
    postgres: PostgresServer, postgres_url: str
) -> None:
    assert postgres_url.startswith(f"postgresql+psycopg2://sweeper@127.0.0.1:{postgres.port}/test_")
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT current_database()")).scalar_one()
            == postgres_url.rsplit("/", 1)[1]
        )
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
            == 0
        )
    engine.dispose()


def test_mlflow_server_keeps_runs_across_a_restart(
    mlflow_tracking_server: MlflowServer, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_tracking_server.url)
    experiment_id = client.create_experiment(f"smoke-{tmp_path.name}")
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "lora_r", "8")
    client.log_metric(run.info.run_id, "cost_eur", 0.42)
    (tmp_path / "note.txt").write_text("artifact through the server")
    client.log_artifact(run.info.run_id, str(tmp_path / "note.txt"))
    client.set_terminated(run.info.run_id)

    mlflow_tracking_server.stop()
    assert not mlflow_tracking_server.running
    with pytest.raises(urllib.error.URLError):  # nothing listens any more
        urllib.request.urlopen(f"{mlflow_tracking_server.url}/health", timeout=5)
    mlflow_tracking_server.start()

    again = MlflowClient(tracking_uri=mlflow_tracking_server.url).get_run(run.info.run_id)
    assert again.data.params == {"lora_r": "8"}
    assert again.data.metrics == {"cost_eur": 0.42}
    assert again.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["note.txt"]


def test_s3_server_stores_objects(s3: S3Server) -> None:
    import boto3

    assert s3.create_bucket("smoke") == "s3://smoke"
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=s3.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3.env["AWS_SECRET_ACCESS_KEY"],
    )
    client.put_object(Bucket="smoke", Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket="smoke", Key="a/b.txt")["Body"].read() == b"hello"


def test_a_missing_postgres_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers.glob, "glob", lambda _pattern: [])
    monkeypatch.setattr(servers.shutil, "which", lambda _name: None)
    with pytest.raises(ServerUnavailable, match="scripts/ci_services.sh"):
        servers.find_postgres_bin()
