"""A password planted in the storage and tracking URIs appears nowhere the tool prints or stores.

A real PostgreSQL role ``u`` with password ``PLANTED_SECRET`` holds the study; a real MLflow
server behind its basic authentication (``mlflow server --app-name basic-auth``, admin ``u``
with that password) is reached through ``http://u:PLANTED_SECRET@127.0.0.1:PORT``. A tiny sweep,
``show``, ``quote``, ``report`` and a few bad URLs run through the CLI; then stdout, stderr,
every table of the study database, the MLflow server's backend and user stores, log and
artifacts, and every file written in the working directory (the report included) are searched:
zero hits.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from sweeper.cli import main
from tests.servers import (
    POSTGRES_DATABASE,
    POSTGRES_SUPERUSER,
    MlflowServer,
    PostgresServer,
    ServerUnavailable,
)

SECRET = "PLANTED_SECRET"


@contextmanager
def _superuser(postgres: PostgresServer, database: str = POSTGRES_DATABASE):
    """A cursor of the superuser, outside any transaction (CREATE DATABASE needs that)."""
    conn = psycopg2.connect(
        host="127.0.0.1", port=postgres.port, user=POSTGRES_SUPERUSER, dbname=database
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@pytest.fixture
def secret_database(postgres: PostgresServer):
    """A database owned by role ``u`` whose password is the planted secret."""
    role, database = f"u_{uuid.uuid4().hex[:8]}", f"secret_{uuid.uuid4().hex[:8]}"
    with _superuser(postgres) as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
        cur.execute(f"CREATE DATABASE {database} OWNER {role}")
    yield role, database
    postgres.drop_database(database)
    with _superuser(postgres) as cur:
        cur.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def auth_mlflow_server(tmp_path: Path, secret_database: tuple[str, str]):
    """An MLflow server behind basic authentication whose admin is ``u`` / the planted secret.
    The password reaches it through the environment only: nothing on its disk holds it."""
    pytest.importorskip("flask_wtf", reason="mlflow's basic-auth app needs flask-wtf (dev extra)")
    role, _ = secret_database
    home = tmp_path / "mlflow-server"
    home.mkdir()
    config = tmp_path / "auth-config" / "basic_auth.ini"
    config.parent.mkdir()
    config.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{home / 'basic_auth.db'}\nadmin_username = {role}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    server = MlflowServer(
        f"sqlite:///{home / 'mlflow.db'}",
        home / "artifacts",
        env={
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": SECRET,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,  # CSRF key the auth app needs
        },
        extra_args=("--app-name", "basic-auth"),
    )
    try:
        server.start()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _database_text(postgres: PostgresServer, database: str) -> str:
    """Every row of every table of the study database, as text."""
    rows = []
    with _superuser(postgres, database) as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cur.fetchall()]
        assert "trials" in tables and "sweeper_claims" in tables, tables
        for table in tables:
            cur.execute(f'SELECT t::text FROM "{table}" AS t')
            rows += [row for (row,) in cur.fetchall()]
    return "\n".join(rows)


def _files_with(folder: Path, needle: bytes) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


@pytest.mark.postgres
def test_a_planted_password_is_never_printed_or_stored(
    tiny_study: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    postgres: PostgresServer,
    secret_database: tuple[str, str],
    auth_mlflow_server: MlflowServer,
) -> None:
    role, database = secret_database
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    host = f"127.0.0.1:{postgres.port}"
    in_userinfo = f"postgresql+psycopg2://{role}:{SECRET}@{host}/{database}"
    in_query = f"postgresql+psycopg2://{role}@{host}/{database}?password={SECRET}&sslmode=disable"
    server = auth_mlflow_server
    tracking = server.url.replace("http://", f"http://{role}:{SECRET}@")
    # The server really is behind authentication: no credentials, no runs.
    assert _status(f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1") == 401
    study = str(tiny_study)
    outputs: list[str] = []

    def cli(*args: str) -> int:
        code = main(list(args))
        captured = capfd.readouterr()
        outputs.append(captured.out + captured.err)
        return code

    assert cli("run", study, "--storage", in_userinfo, "--tracking-uri", tracking) == 0
    # The same study through the query-string form, from the environment (not the command line).
    monkeypatch.setenv("SWEEPER_STORAGE", in_query)
    assert cli("run", study, "--trials", "1", "--tracking-uri", tracking) == 0
    assert "COMPLETE" in outputs[-1] and "password=***" in outputs[-1]
    assert cli("show", study) == 0
    assert cli("quote", study, "--trials", "2") == 0
    monkeypatch.delenv("SWEEPER_STORAGE")
    report = work / "reports" / "tiny.html"
    assert (
        cli(
            "report",
            study,
            "--storage",
            in_userinfo,
            "--tracking-uri",
            tracking,
            "--out",
            str(report),
        )
        == 0
    )
    assert "logged to MLflow parent run" in outputs[-1]

    # Bad storage and tracking URIs: one line, exit 2 or a warning, no password either.
    for bad in [
        f"postgresql+psycopg2://{role}:{SECRET}@127.0.0.1:1/{database}",  # nothing listens
        f"postgresql+psycopg2://{role}:{SECRET}@{host}/no_such_database",
        f"nosuchdialect://{role}:{SECRET}@{host}/{database}",
        f"postgresql+psycopg2://{role}:{SECRET}@{host}:notaport/{database}",
        f"postgresql+psycopg2://{role}@127.0.0.1:1/{database}?password={SECRET}",
    ]:
        assert cli("show", study, "--storage", bad) == 2, outputs[-1]
        assert outputs[-1].startswith("error: ") and outputs[-1].count("\n") == 1, outputs[-1]
    closed = f"http://{role}:{SECRET}@127.0.0.1:1"
    assert cli("report", study, "--storage", in_userinfo, "--tracking-uri", closed) == 0
    assert "not usable" in outputs[-1]

    printed = "\n".join(outputs)
    assert [line for line in printed.splitlines() if SECRET in line] == []
    assert f"{role}:***@" in printed  # the URL is still shown, redacted
    assert SECRET not in _database_text(postgres, database)
    server_home = server.artifacts_dir.parent
    assert (server_home / "mlflow.db").is_file() and (server_home / "basic_auth.db").is_file()
    # Backend store, user store (a salted hash, not the password), server log, artifacts.
    assert _files_with(server_home, SECRET.encode()) == []
    assert _files_with(work, SECRET.encode()) == []  # report, local artifacts, caches
    assert report.is_file() and report.stat().st_size > 10_000
