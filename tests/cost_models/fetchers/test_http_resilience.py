"""Price fetchers against a misbehaving server on 127.0.0.1: throttling and server errors retried
with backoff, dropped connections retried, one deadline per refresh, and Azure's NextPageLink
followed only to where the first page came from."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from cost_models.fetchers import AzurePriceFetcher, FetchScope
from cost_models.fetchers._errors import PriceFetchError
from cost_models.fetchers._http import Deadline, http_get
from cost_models.fetchers.providers.azure import checked_next_page_link
from tests.cost_models.fetchers.local_http import LocalHTTPServer

H100 = "Standard_ND96isr_H100_v5"
EMPTY_PAGE = b'{"Items": [], "NextPageLink": null}'


class ScriptedServer:
    """Answers each GET with the next scripted action: an HTTP status, ``"drop"`` (close the
    connection without an answer), ``("slow", seconds)`` (then an empty Azure page), or a body
    (bytes) with status 200."""

    def __init__(self) -> None:
        self.script: list[object] = []
        self.default: object = b"ok"
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                server.requests.append(self.path)
                action = server.script.pop(0) if server.script else server.default
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(action, tuple):
                    time.sleep(action[1])
                    action = EMPTY_PAGE
                status, body = (action, b"busy") if isinstance(action, int) else (200, action)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    served = ScriptedServer()
    thread = threading.Thread(target=served.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()
    thread.join(timeout=5)


def get(url: str, sleeps: list[float], **kwargs: object) -> bytes:
    return http_get(url, api_name="Test API", retry_delay_s=0.01, sleep=sleeps.append, **kwargs)


def test_throttling_and_server_errors_are_retried_with_backoff(server: ScriptedServer) -> None:
    server.script = [429, 503, 502]
    sleeps: list[float] = []
    assert get(server.url + "/p", sleeps) == b"ok"
    assert len(server.requests) == 4
    assert sleeps == pytest.approx([0.01, 0.02, 0.04])  # each wait twice the one before


def test_a_dropped_connection_is_retried(server: ScriptedServer) -> None:
    server.script = ["drop", "drop"]
    sleeps: list[float] = []
    assert get(server.url + "/p", sleeps) == b"ok"
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_retries_end_in_one_clear_line(server: ScriptedServer) -> None:
    server.default = "drop"
    with pytest.raises(PriceFetchError) as dropped:
        get(server.url + "/p", [])
    assert str(dropped.value).startswith(
        f"Test API dropped the connection after 4 tries at {server.url}/p: "
    )
    server.default = 503
    with pytest.raises(PriceFetchError, match=r"answered HTTP 503 .* after 4 tries for .*: busy"):
        get(server.url + "/p", [])
    assert len(server.requests) == 8


def test_no_wait_and_no_request_goes_past_the_refresh_deadline(server: ScriptedServer) -> None:
    server.default = ("slow", 3.0)
    sleeps: list[float] = []
    with pytest.raises(PriceFetchError, match=r"deadline of 0.5 s passed before .*/p answered"):
        get(server.url + "/p", sleeps, deadline=Deadline.after(0.5))

    server.default = 503  # a retry would wait past the deadline: it is not waited for
    with pytest.raises(PriceFetchError, match=r"HTTP 503 for .*deadline of 5 s would pass"):
        http_get(
            server.url + "/q",
            api_name="Test API",
            retry_delay_s=60,
            sleep=sleeps.append,
            deadline=Deadline.after(5),
        )
    assert sleeps == []


def test_azure_shares_one_deadline_across_a_refresh(server: ScriptedServer, recordings) -> None:
    server.default = ("slow", 0.4)  # each page is late; two sizes x one region take 0.8 s
    fetcher = AzurePriceFetcher(endpoint_url=server.url + "/prices", deadline_s=0.6)
    scope = FetchScope((H100, "Standard_NC24ads_A100_v4"), ("eastus",), recordings.price_date)
    with pytest.raises(PriceFetchError, match=r"deadline of 0.6 s passed"):
        fetcher.fetch_rows(scope)


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.2:{port}/prices?page=2",  # another host
        "http://localhost.example:{port}/prices?page=2",
        "http://127.0.0.1:1/prices?page=2",  # another port
        "ftp://127.0.0.1:{port}/prices?page=2",
    ],
)
def test_azure_refuses_a_next_page_link_to_elsewhere(
    server: ScriptedServer, recordings, link: str
) -> None:
    port = server.url.rsplit(":", 1)[1]
    server.default = f'{{"Items": [], "NextPageLink": "{link.format(port=port)}"}}'.encode()
    fetcher = AzurePriceFetcher(endpoint_url=server.url + "/prices")
    with pytest.raises(PriceFetchError, match=r"NextPageLink must be https .* not followed"):
        fetcher.fetch_rows(FetchScope((H100,), ("eastus",), recordings.price_date))
    assert len(server.requests) == 1  # the first page only


def test_next_page_links_stay_on_https_and_on_the_host_asked() -> None:
    first = "https://prices.azure.com/api/retail/prices?$filter=x"
    same = "https://prices.azure.com/api/retail/prices?$skip=100"
    assert checked_next_page_link(same, first, "Azure") == same
    for bad in (
        "http://prices.azure.com/api/retail/prices?$skip=100",  # downgraded to http
        "https://prices.azure.com.evil.example/api?$skip=100",
        "https://evil.example/api/retail/prices?$skip=100",
        "//evil.example/x",
        42,
    ):
        with pytest.raises(PriceFetchError, match="not followed"):
            checked_next_page_link(bad, first, "Azure")
