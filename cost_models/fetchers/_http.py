"""HTTP GET for the public price and rate APIs: retries with backoff, one deadline per refresh,
one-line errors.

Retried, each time after a longer wait (``retry_delay_s`` doubled per try, or the server's
Retry-After, capped at 30 s): HTTP 429 and 5xx answers, and connections the server dropped
(reset, closed before or during the answer). Not retried: other HTTP errors, a server that refuses
the connection, a request that timed out. No wait and no request goes past the refresh's
:class:`Deadline`, shared by every page of one refresh.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from cost_models.fetchers._errors import PriceFetchError

RETRIED_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Tries after the first one, for a throttled, failing or dropped request.
DEFAULT_RETRIES = 3
#: Each retry waits this many times longer than the one before.
BACKOFF_FACTOR = 2.0
#: How long one refresh may take in all, every page and wait included (seconds).
REFRESH_DEADLINE_S = 300.0
_MAX_RETRY_AFTER_S = 30.0
_BODY_EXCERPT_CHARS = 200
#: A connection the server dropped: worth another try.
_DROPPED = (ConnectionResetError, ConnectionAbortedError, http.client.HTTPException)


@dataclass(frozen=True)
class Deadline:
    """The ``time.monotonic()`` moment by which a whole refresh must be done."""

    seconds: float
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        if not seconds > 0:
            raise ValueError(f"`seconds > 0` must hold, but got {seconds=}.")
        return cls(seconds, time.monotonic() + seconds)

    def remaining_s(self) -> float:
        return self.at - time.monotonic()


def http_get(
    url: str,
    *,
    api_name: str,
    timeout_s: float = 30.0,
    retries: int = DEFAULT_RETRIES,
    retry_delay_s: float = 1.0,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The body of ``GET url``, retried as the module docstring says, within ``deadline``
    (default: ``REFRESH_DEADLINE_S`` from now). Any failure raises :class:`PriceFetchError`
    naming ``api_name``, the URL and the reason.
    """
    deadline = deadline or Deadline.after(REFRESH_DEADLINE_S)
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept": "*/*"})
    for attempt in range(retries + 1):
        tries = f" after {attempt + 1} tries" if attempt else ""
        wait_s = retry_delay_s * BACKOFF_FACTOR**attempt
        left_s = deadline.remaining_s()
        if left_s <= 0:
            raise _past_deadline(api_name, url, deadline, tries)
        try:
            with urllib.request.urlopen(request, timeout=min(timeout_s, left_s)) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in RETRIED_HTTP_STATUSES and attempt < retries:
                failed = f"{api_name} answered HTTP {exc.code}{tries} for {url}"
                delay_s = _retry_after_s(exc.headers.get("Retry-After"), wait_s)
                _wait(delay_s, deadline, sleep, failed)
                continue
            raise PriceFetchError(
                f"{api_name} answered HTTP {exc.code} ({exc.reason}){tries} for {url}"
                f"{_excerpt(exc)}"
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, _DROPPED) and attempt < retries:
                _wait(wait_s, deadline, sleep, f"{api_name} dropped the connection at {url}")
                continue
            raise PriceFetchError(
                f"cannot reach {api_name} at {url}: {exc.reason}{tries}; check the network, "
                "or point --endpoint-url at a mirror"
            ) from None
        except TimeoutError:
            if deadline.remaining_s() <= 0:
                raise _past_deadline(api_name, url, deadline, tries) from None
            raise PriceFetchError(
                f"{api_name} did not answer within {timeout_s:g} s at {url}"
            ) from None
        except _DROPPED as exc:
            if attempt < retries:
                _wait(wait_s, deadline, sleep, f"{api_name} dropped the connection at {url}")
                continue
            raise PriceFetchError(
                f"{api_name} dropped the connection{tries} at {url}: {type(exc).__name__}: {exc}"
            ) from None
    raise AssertionError("unreachable: the loop returns or raises")


def _wait(seconds: float, deadline: Deadline, sleep: Callable[[float], None], failed: str) -> None:
    """Sleep before the next try, unless the refresh's deadline would pass meanwhile."""
    if seconds >= deadline.remaining_s():
        raise PriceFetchError(
            f"{failed}, and the refresh's deadline of {deadline.seconds:g} s would pass during "
            f"the {seconds:g}-s wait before the next try"
        )
    sleep(seconds)


def _past_deadline(api_name: str, url: str, deadline: Deadline, tries: str) -> PriceFetchError:
    return PriceFetchError(
        f"{api_name}: the refresh's deadline of {deadline.seconds:g} s passed{tries} before "
        f"{url} answered"
    )


def _retry_after_s(header: str | None, default_s: float) -> float:
    try:
        return min(max(float(header), 0.0), _MAX_RETRY_AFTER_S) if header else default_s
    except ValueError:  # an HTTP-date: not worth parsing for a retry
        return default_s


def _excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
    body = " ".join(body.split())
    if not body:
        return ""
    if len(body) > _BODY_EXCERPT_CHARS:
        body = body[: _BODY_EXCERPT_CHARS - 3] + "..."
    return f": {body}"


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"llm-cost-sweeper/{version('llm-cost-sweeper')}"
    except PackageNotFoundError:
        return "llm-cost-sweeper"
