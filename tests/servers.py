"""Real servers for the tests: PostgreSQL, an MLflow tracking server and an S3 server.

Plain context managers, so that conftest.py can wrap them in session fixtures and a script can use
them too. Each one starts its server on 127.0.0.1 on a free port, with all its files in a temp dir,
and stops it (and every process it spawned) on the way out, also when the test failed.
A server whose program is not installed raises ``ServerUnavailable``; the fixtures turn that into
a skip, or into a failure where ``SWEEPER_REQUIRE_SERVERS=1`` (CI, after scripts/ci_services.sh).
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Set to 1 where a missing server must fail the run instead of skipping its tests (CI).
REQUIRE_SERVERS_ENV = "SWEEPER_REQUIRE_SERVERS"
POSTGRES_START_TIMEOUT_S = 60
MLFLOW_START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15


class ServerUnavailable(RuntimeError):
    """The server's program is not installed here; the message says how to install it."""


class ServerFailed(RuntimeError):
    """The server was found but did not start; the message ends with its log."""


def servers_required() -> bool:
    return os.environ.get(REQUIRE_SERVERS_ENV, "") not in ("", "0", "false")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- PostgreSQL ---------------------------------------------------------------------------------

POSTGRES_SUPERUSER = "sweeper"
POSTGRES_DATABASE = "sweeper_test"


def find_postgres_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: Debian's newest, else the ones on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: [int(p) if p.isdigit() else 0 for p in Path(d).parent.name.split(".")],
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    raise ServerUnavailable(
        "PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH); "
        "run scripts/ci_services.sh, or `apt-get install postgresql`."
    )


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL: trust auth, superuser ``sweeper``, no password."""

    port: int
    bin_dir: Path

    def url(self, database: str = POSTGRES_DATABASE) -> str:
        return f"postgresql+psycopg2://{POSTGRES_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database on this server; returns its URL."""
        self._client("createdb", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever connections a test left open to it."""
        self._client("dropdb", "--force", "--if-exists", name)

    def _client(self, program: str, *args: str) -> None:
        server = ["-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_SUPERUSER]
        _run_checked([str(self.bin_dir / program), *server, *args], program)


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: when we are root, run it as the ``postgres`` user."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *argv]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable(
            "running as root, PostgreSQL needs a `postgres` user to run as, and there is none; "
            "`apt-get install postgresql` creates it."
        ) from None
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, user.pw_uid, user.pw_gid)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server on 127.0.0.1 (about a second), yield it, stop it, delete its files.

    Tuned for tests: fsync off, so its data does not survive a machine crash.
    """
    bin_dir = find_postgres_bin()
    # Not under pytest's tmp dir: that one is private to root, and the server runs as `postgres`.
    home = Path(tempfile.mkdtemp(prefix="sweeper-pg-"))
    data, sockets, log = home / "data", home / "sock", home / "postgres.log"
    sockets.mkdir()
    _chown_to_postgres(home)
    pg_ctl = str(bin_dir / "pg_ctl")
    started = False
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", POSTGRES_SUPERUSER]
        initdb += ["-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        _run_checked(_as_postgres_user(initdb), "initdb", cwd=home)
        for _attempt in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            start = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options]
            start += ["-w", "-t", str(POSTGRES_START_TIMEOUT_S), "start"]
            result = subprocess.run(
                _as_postgres_user(start), capture_output=True, text=True, cwd=home
            )
            if result.returncode == 0:
                started = True
                break
        if not started:
            raise ServerFailed(
                f"PostgreSQL did not start: {result.stderr.strip()}\n{_log_tail(log)}"
            )
        server = PostgresServer(port=port, bin_dir=bin_dir)
        server.create_database(POSTGRES_DATABASE)
        yield server
    finally:
        if started:
            subprocess.run(
                _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                text=True,
                cwd=home,
            )
        shutil.rmtree(home, ignore_errors=True)


def _run_checked(argv: list[str], what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise ServerFailed(
            f"{what} failed with exit code {result.returncode}: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


# -- MLflow tracking server ----------------------------------------------------------------------


class MlflowServer:
    """``mlflow server`` on a fixed port, in its own process group; can be stopped and restarted.

    Job execution is turned off (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``): two processes
    instead of ten, and a faster start.
    """

    def __init__(
        self,
        backend_uri: str,
        artifacts_dir: str | Path,
        *,
        artifacts_destination: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.backend_uri = backend_uri
        #: More ``mlflow server`` arguments, e.g. ``("--app-name", "basic-auth")``.
        self.extra_args = extra_args
        self.artifacts_dir = Path(artifacts_dir)
        #: Where the server keeps artifacts: ``artifacts_dir``, or e.g. ``s3://bucket/prefix``.
        self.artifacts_destination = artifacts_destination or str(self.artifacts_dir)
        self.env = dict(env or {})
        self.port = port or free_port()
        self.log_path = self.artifacts_dir.parent / f"mlflow-server-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until ``/health`` answers."""
        if self.running:
            return
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        argv = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            self.backend_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_healthy()

    def stop(self) -> None:
        """Stop the server and every process it spawned (its whole process group)."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, STOP_TIMEOUT_S)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait_s)
                _wait_group_gone(process.pid, wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        self._wait_port_free()

    def restart(self) -> None:
        """Stop, then start again on the same port with the same stores."""
        self.stop()
        self.start()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + MLFLOW_START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._process = None
                raise ServerFailed(f"mlflow server exited early:\n{_log_tail(self.log_path)}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise ServerFailed(
            f"mlflow server gave no /health within {MLFLOW_START_TIMEOUT_S} s:\n"
            f"{_log_tail(self.log_path)}"
        )

    def _wait_port_free(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    time.sleep(0.1)


def _wait_group_gone(pgid: int, timeout_s: float) -> None:
    """Wait until no process is left in the group (the server's workers exit after it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise subprocess.TimeoutExpired(f"process group {pgid}", timeout_s)


@contextmanager
def mlflow_server(
    backend_uri: str,
    artifacts_dir: str | Path,
    *,
    artifacts_destination: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[MlflowServer]:
    """Start ``mlflow server`` (10-20 s here), yield it (``.url``, ``.stop()``, ``.restart()``),
    and stop its whole process group afterwards. ``artifacts_dir`` also holds the server's log."""
    server = MlflowServer(
        backend_uri, artifacts_dir, artifacts_destination=artifacts_destination, env=env
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


# -- S3 (moto_server) ----------------------------------------------------------------------------

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"


class S3Server:
    """An S3-compatible server (``moto_server``, in memory) on 127.0.0.1, in its process group."""

    def __init__(self, log_dir: Path) -> None:
        executable = shutil.which(
            "moto_server",
            path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        if executable is None:
            raise ServerUnavailable(
                "moto_server is not installed; `pip install 'moto[s3]'` provides it."
            )
        self.port = free_port()
        self.log_path = log_dir / f"moto-server-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [executable, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """What a client (boto3, an MLflow server) needs in its environment to use this server."""
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def create_bucket(self, name: str) -> str:
        """Create a bucket; returns ``s3://name``."""
        import boto3

        boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
        ).create_bucket(Bucket=name)
        return f"s3://{name}"

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerFailed(f"moto_server exited early:\n{_log_tail(self.log_path)}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers: ready
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise ServerFailed(
            f"moto_server did not answer within {timeout_s} s:\n{_log_tail(self.log_path)}"
        )

    def stop(self) -> None:
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()


@contextmanager
def s3_server(log_dir: str | Path | None = None) -> Iterator[S3Server]:
    """Start ``moto_server`` (a few seconds), yield it, stop it. Its buckets live in memory."""
    home = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="sweeper-s3-"))
    server = S3Server(home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        if log_dir is None:
            shutil.rmtree(home, ignore_errors=True)
