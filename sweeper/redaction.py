"""Secrets out of URLs: the one redaction every printed or stored storage/tracking URI goes through.

A URL keeps what makes it useful to read (scheme, user, host, port, database, the harmless query
options) and loses what would let a reader log in: the userinfo password
(``postgresql+psycopg2://u:SECRET@host/db``) and the values of query parameters whose name says
they are secret (``?password=``, ``?sslpassword=``, ``?token=``, ``?key=``, ...). Both become
``***``.

The userinfo is parsed the way SQLAlchemy's ``make_url`` does (a password runs to the next ``@``,
so it may hold ``/``, ``?`` or ``#``), except for http(s) URLs, whose passwords cannot hold those
characters unencoded. A leaf module (standard library only): anything may import it.
"""

from __future__ import annotations

import re
import urllib.parse

MASK = "***"

#: A query parameter is secret when its lower-cased name contains one of these.
SECRET_QUERY_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "signature",
    "auth",
)

_DATABASE_USERINFO = re.compile(r"^(?P<head>[\w+.\-]+://(?P<user>[^:/@?#]*)):(?P<password>[^@]*)@")
_HTTP_USERINFO = re.compile(r"^(?P<head>[\w+.\-]+://(?P<user>[^:/@?#]*)):(?P<password>[^@/?#]*)@")


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    Text that is not a URL (a file path, a bare name) comes back unchanged.
    """
    if "://" not in url:
        return url
    password = _userinfo_password(url)
    if password is not None:
        match, _ = password
        url = f"{match.group('head')}:{MASK}@{url[match.end() :]}"
    return _redact_query(url)


def secrets_in(url: str) -> list[str]:
    """The secret parts of ``url`` (the password, secret query values), as written and decoded:
    what ``scrub`` removes from text that may have quoted the URL."""
    found: list[str] = []
    if "://" not in url:
        return found
    password = _userinfo_password(url)
    if password is not None:
        found.append(password[1])
    _, query, _ = _split_query(url)
    for name, value in _query_pairs(query or ""):
        if _is_secret_name(name):
            found.append(value)
    decoded = [urllib.parse.unquote_plus(s) for s in found]
    return sorted({s for s in found + decoded if s and s != MASK}, key=len, reverse=True)


def scrub(text: str, *urls: str | None) -> str:
    """``text`` (an error message, a log line) with every secret of ``urls`` replaced by ``***``,
    wherever the text quoted them: a driver's message may echo a URL or a connection string."""
    for url in urls:
        if url is None:
            continue
        text = text.replace(url, redact_url(url))
        for secret in secrets_in(url):
            text = text.replace(secret, MASK)
    return text


def _userinfo_password(url: str) -> tuple[re.Match[str], str] | None:
    scheme = url.split("://", 1)[0].lower()
    pattern = _HTTP_USERINFO if scheme in ("http", "https") else _DATABASE_USERINFO
    match = pattern.match(url)
    if match is None or match.group("password") == MASK:
        return None
    return match, match.group("password")


def _split_query(url: str) -> tuple[str, str | None, str]:
    """(before ``?``, the query or None, ``#fragment`` or '') after the userinfo."""
    head_end = 0
    password = _userinfo_password(url)
    if password is not None:
        head_end = password[0].end()
    elif MASK + "@" in url:
        head_end = url.index(MASK + "@") + len(MASK) + 1
    body, fragment = url[head_end:], ""
    if "#" in body:
        body, fragment = body.split("#", 1)
        fragment = "#" + fragment
    if "?" not in body:
        return url[:head_end] + body, None, fragment
    path, query = body.split("?", 1)
    return url[:head_end] + path, query, fragment


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        if sep:
            pairs.append((urllib.parse.unquote_plus(name), value))
    return pairs


def _redact_query(url: str) -> str:
    before, query, fragment = _split_query(url)
    if query is None:
        return url
    items = []
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        if sep and value and _is_secret_name(urllib.parse.unquote_plus(name)):
            item = f"{name}={MASK}"
        items.append(item)
    return f"{before}?{'&'.join(items)}{fragment}"


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_QUERY_WORDS)
