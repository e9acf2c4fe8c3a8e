"""``sweeper.redaction``: passwords and secret query values out of every URL the tool shows."""

from __future__ import annotations

import pytest

from sweeper.redaction import redact_url, scrub, secrets_in
from sweeper.tracking import storage_id


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg2://u:PLANTED_SECRET@127.0.0.1:5432/db",
            "postgresql+psycopg2://u:***@127.0.0.1:5432/db",
        ),
        (
            "postgresql+psycopg2://u@db.internal/sweeps?password=PLANTED_SECRET&sslmode=require",
            "postgresql+psycopg2://u@db.internal/sweeps?password=***&sslmode=require",
        ),
        (
            "postgresql://u@h/db?sslpassword=PLANTED_SECRET&application_name=sweeper",
            "postgresql://u@h/db?sslpassword=***&application_name=sweeper",
        ),
        # SQLAlchemy reads a password up to the next '@', so it may hold '/', '?', '#'.
        ("postgresql://u:p/a?s#s@h:5433/db", "postgresql://u:***@h:5433/db"),
        ("postgresql://:PLANTED_SECRET@h/db", "postgresql://:***@h/db"),
        ("http://u:PLANTED_SECRET@127.0.0.1:5000", "http://u:***@127.0.0.1:5000"),
        (
            "https://mlflow.example/api?token=abc&x=1#top",
            "https://mlflow.example/api?token=***&x=1#top",
        ),
        (
            "https://h/?api_key=1&Access_Token=2&sig=3",
            "https://h/?api_key=***&Access_Token=***&sig=3",
        ),
        # Nothing secret: unchanged, so the URL stays useful.
        ("http://host:5000/x@y", "http://host:5000/x@y"),
        ("sqlite:////tmp/sweeper.db", "sqlite:////tmp/sweeper.db"),
        ("sqlite:///x.db?mode=ro", "sqlite:///x.db?mode=ro"),
        (
            "postgresql+psycopg2://sweeper@127.0.0.1:5432/db",
            "postgresql+psycopg2://sweeper@127.0.0.1:5432/db",
        ),
        ("./mlruns", "./mlruns"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # idempotent


def test_scrub_removes_the_secrets_wherever_a_message_quotes_them() -> None:
    url = "postgresql://u:p%40ss@h/db?password=tok%20en"
    assert set(secrets_in(url)) >= {"p%40ss", "p@ss", "tok%20en", "tok en"}
    message = f"cannot connect to {url} (dsn: user=u password=p@ss; tok en)"
    cleaned = scrub(message, url)
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned and "tok" not in cleaned
    assert "postgresql://u:***@h/db?password=***" in cleaned


def test_the_storage_id_is_not_a_hash_of_the_password() -> None:
    with_password = "postgresql+psycopg2://u:PLANTED_SECRET@h/db"
    other_password = "postgresql+psycopg2://u:another@h/db"
    assert storage_id(with_password) == storage_id(other_password)
    # A storage without a password keeps the id it always had (existing parent runs are found).
    import hashlib

    plain = "sqlite:////tmp/sweeper.db"
    assert storage_id(plain) == hashlib.sha256(plain.encode()).hexdigest()[:12]


def test_an_unreachable_tracking_database_is_named_without_its_secrets() -> None:
    """The tracking store's probe shows the URI through ``redact_url`` too: SQLAlchemy's own
    rendering hides the password but not a secret query value."""
    from sweeper.tracking import TrackingUnavailable, probe_database_store
    from tests.servers import free_port

    url = (
        f"postgresql+psycopg2://u:PLANTED_SECRET@127.0.0.1:{free_port()}/db"
        "?sslpassword=PLANTED_QUERY_SECRET&application_name=sweeper"
    )
    with pytest.raises(TrackingUnavailable) as err:
        probe_database_store(url)
    message = str(err.value)
    assert "PLANTED" not in message
    assert redact_url(url) in message
