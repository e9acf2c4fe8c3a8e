"""HTTP GET for the public price and rate APIs: one retry on throttling, one-line errors."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from cost_models.fetchers._errors import PriceFetchError

RETRIED_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_S = 30.0
_BODY_EXCERPT_CHARS = 200


def http_get(
    url: str,
    *,
    api_name: str,
    timeout_s: float = 30.0,
    retries: int = 1,
    retry_delay_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The body of ``GET url``. Throttling and server errors are retried ``retries`` times, after
    the server's Retry-After (capped at 30 s) or ``retry_delay_s``; any other failure raises
    :class:`PriceFetchError` naming ``api_name``, the URL and the reason.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept": "*/*"})
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in RETRIED_HTTP_STATUSES and attempt < retries:
                sleep(_retry_after_s(exc.headers.get("Retry-After"), retry_delay_s))
                continue
            tries = f" after {attempt + 1} tries" if attempt else ""
            raise PriceFetchError(
                f"{api_name} answered HTTP {exc.code} ({exc.reason}){tries} for {url}"
                f"{_excerpt(exc)}"
            ) from None
        except urllib.error.URLError as exc:
            raise PriceFetchError(
                f"cannot reach {api_name} at {url}: {exc.reason}; check the network, "
                "or point --endpoint-url at a mirror"
            ) from None
        except TimeoutError:
            raise PriceFetchError(
                f"{api_name} did not answer within {timeout_s:g} s at {url}"
            ) from None
    raise AssertionError("unreachable: the loop returns or raises")


def _retry_after_s(header: str | None, default_s: float) -> float:
    try:
        return min(max(float(header), 0.0), _MAX_RETRY_AFTER_S) if header else default_s
    except ValueError:  # an HTTP-date: not worth parsing for one retry
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
