"""Recorded API answers and the doubles that serve them: botocore Stubbers and a local HTTP server.

No test here reaches AWS, Azure or the ECB: AWS answers go through ``Stubber`` on real boto3
clients, HTTP answers come from a server on 127.0.0.1 (see recordings/README.md).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.cost_models.fetchers.local_http import LocalHTTPServer

RECORDINGS = Path(__file__).parent / "recordings"
PRICE_DATE = date(2026, 11, 26)
SPOT_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
PRODUCT_FILTERS = [
    ("operatingSystem", "Linux"),
    ("tenancy", "Shared"),
    ("preInstalledSw", "NA"),
    ("capacitystatus", "Used"),
]


@pytest.fixture(autouse=True)
def _no_real_cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, config or instance metadata: a test that forgot a stub fails, offline."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------------
# AWS: recorded pages through botocore's Stubber
# ---------------------------------------------------------------------------------------------


class Recordings:
    """Loads the recorded answers in the form the real clients hand them over."""

    folder = RECORDINGS
    price_date = PRICE_DATE
    spot_now = SPOT_NOW

    def aws_products_page(self, instance_type: str, region: str, page: int) -> dict[str, Any]:
        """A get_products page, each PriceList item as the JSON string AWS sends."""
        path = RECORDINGS / "aws" / f"get_products__{instance_type}__{region}__page{page}.json"
        answer = json.loads(path.read_text())
        answer["PriceList"] = [json.dumps(item) for item in answer["PriceList"]]
        return answer

    def aws_items(self, instance_type: str, region: str, page: int = 1) -> list[dict[str, Any]]:
        """The decoded PriceList items of one recorded page."""
        page_answer = self.aws_products_page(instance_type, region, page)
        return [json.loads(item) for item in page_answer["PriceList"]]

    def aws_spot_page(self, region: str, page: int) -> dict[str, Any]:
        """A describe_spot_price_history page, Timestamps as datetimes like boto3 gives them."""
        path = RECORDINGS / "aws" / f"describe_spot_price_history__{region}__page{page}.json"
        answer = json.loads(path.read_text())
        for entry in answer["SpotPriceHistory"]:
            entry["Timestamp"] = datetime.fromisoformat(entry["Timestamp"])
        return answer

    def azure_items(self, vm_size: str, region: str, skip: int = 0) -> list[dict[str, Any]]:
        path = RECORDINGS / "azure" / f"{vm_size}__{region}__skip{skip}.json"
        return json.loads(path.read_text())["Items"]

    def previous_catalog(self, provider: str) -> Path:
        return RECORDINGS / "previous" / f"{provider}.csv"


@pytest.fixture
def recordings() -> Recordings:
    return Recordings()


def products_params(instance_type: str, region: str, next_token: str | None = None) -> dict:
    filters = [("instanceType", instance_type), ("regionCode", region), *PRODUCT_FILTERS]
    params: dict[str, Any] = {
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "Filters": [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in filters],
        "MaxResults": 100,
    }
    if next_token:
        params["NextToken"] = next_token
    return params


def spot_params(
    instance_types: list[str], next_token: str | None = None, start_time: Any = SPOT_NOW
) -> dict:
    params: dict[str, Any] = {
        "InstanceTypes": instance_types,
        "ProductDescriptions": ["Linux/UNIX"],
        "StartTime": start_time,
    }
    if next_token:
        params["NextToken"] = next_token
    return params


@dataclass
class StubbedAws:
    """Real boto3 clients whose answers come from the queued recordings, in call order."""

    pricing: Any
    pricing_stub: Stubber
    ec2: Any
    ec2_stub: Stubber

    def queue_products(self, instance_type: str, region: str, pages: int = 1) -> None:
        token = None
        for page in range(1, pages + 1):
            answer = Recordings().aws_products_page(instance_type, region, page)
            self.pricing_stub.add_response(
                "get_products", answer, products_params(instance_type, region, token)
            )
            token = answer.get("NextToken")

    def queue_error(self, operation: str, code: str, message: str, status: int = 400) -> None:
        stub = self.pricing_stub if operation == "get_products" else self.ec2_stub
        stub.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )

    def queue_spot(
        self, region: str, instance_types: list[str], pages: int = 2, start_time: Any = SPOT_NOW
    ) -> None:
        token = None
        for page in range(1, pages + 1):
            answer = Recordings().aws_spot_page(region, page)
            self.ec2_stub.add_response(
                "describe_spot_price_history",
                answer,
                spot_params(instance_types, token, start_time),
            )
            token = answer.get("NextToken")

    us_east_1_types = ["g5.xlarge", "p4d.24xlarge", "p5.48xlarge", "p5en.48xlarge"]

    def queue_us_east_1_refresh(self, spot_start_time: Any = SPOT_NOW) -> None:
        """Every answer a refresh of ``us_east_1_types`` in us-east-1 asks for, in order."""
        self.queue_products("g5.xlarge", "us-east-1")
        self.queue_products("p4d.24xlarge", "us-east-1")
        self.queue_products("p5.48xlarge", "us-east-1", pages=2)
        self.queue_products("p5en.48xlarge", "us-east-1")
        self.queue_spot("us-east-1", self.us_east_1_types, start_time=spot_start_time)

    def fetcher(self) -> Any:
        from cost_models.fetchers import AwsPriceFetcher

        return AwsPriceFetcher(
            pricing_client=self.pricing,
            ec2_client_for_region=lambda region: self.ec2,
            now=lambda: SPOT_NOW,
        )

    def assert_all_answers_used(self) -> None:
        self.pricing_stub.assert_no_pending_responses()
        self.ec2_stub.assert_no_pending_responses()


@pytest.fixture
def stubbed_aws() -> Iterator[StubbedAws]:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    pricing = boto3.client("pricing", region_name="us-east-1", **keys)
    ec2 = boto3.client("ec2", region_name="us-east-1", **keys)
    with Stubber(pricing) as pricing_stub, Stubber(ec2) as ec2_stub:
        yield StubbedAws(pricing, pricing_stub, ec2, ec2_stub)


# ---------------------------------------------------------------------------------------------
# HTTP: a real server on 127.0.0.1
# ---------------------------------------------------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class LocalServer:
    """Serves ``route(path, query) -> (status, headers, body)``; ``fail_next`` holds statuses
    answered (with Retry-After: 0) before the route is asked."""

    route: Callable[[str, dict[str, str]], Answer]
    base_url: str = ""
    requests: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    served = LocalServer(route=lambda path, query: (404, {}, b"no route"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            served.requests.append(self.path)
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            if served.fail_next:
                status, headers, body = served.fail_next.pop(0), {"Retry-After": "0"}, b"busy"
            else:
                status, headers, body = served.route(parts.path, query)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = LocalHTTPServer(("127.0.0.1", 0), Handler)
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


AZURE_PATH = "/api/retail/prices"


@pytest.fixture
def azure_server(local_server: LocalServer) -> LocalServer:
    """The Retail Prices API over recordings/azure; unknown SKUs get an empty page."""

    def route(path: str, query: dict[str, str]) -> Answer:
        odata_filter = query.get("$filter", "")
        terms = dict(
            part.split(" eq ", 1) for part in odata_filter.split(" and ") if " eq " in part
        )
        sku = terms.get("armSkuName", "").strip("'")
        region = terms.get("armRegionName", "").strip("'")
        recording = RECORDINGS / "azure" / f"{sku}__{region}__skip{query.get('$skip', '0')}.json"
        if path != AZURE_PATH or query.get("api-version") != "2023-01-01-preview":
            return 400, {}, b'{"Error": {"Code": "BadRequest"}}'
        if not recording.exists():
            empty = {"BillingCurrency": "USD", "Items": [], "NextPageLink": None, "Count": 0}
            return 200, {"Content-Type": "application/json"}, json.dumps(empty).encode()
        page = json.loads(recording.read_text())
        if page["NextPageLink"]:
            page["NextPageLink"] = page["NextPageLink"].format(
                base_url=local_server.base_url + AZURE_PATH,
                filter=urllib.parse.quote(odata_filter),
            )
        return 200, {"Content-Type": "application/json"}, json.dumps(page).encode()

    local_server.route = route
    return local_server


@pytest.fixture
def azure_url(azure_server: LocalServer) -> str:
    return azure_server.base_url + AZURE_PATH


ECB_PATH = "/stats/eurofxref/eurofxref-daily.xml"


@pytest.fixture
def ecb_server(local_server: LocalServer) -> LocalServer:
    body = (RECORDINGS / "ecb" / "eurofxref-daily-2026-07-09.xml").read_bytes()

    def route(path: str, query: dict[str, str]) -> Answer:
        if path != ECB_PATH:
            return 404, {}, b"<html>Not found</html>"
        return 200, {"Content-Type": "text/xml"}, body

    local_server.route = route
    return local_server


@pytest.fixture
def ecb_url(ecb_server: LocalServer) -> str:
    return ecb_server.base_url + ECB_PATH
