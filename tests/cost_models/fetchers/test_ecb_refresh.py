"""ECB rates: fetched from a local server, checked by the cost model's parser, kept as dated XML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cost_models import load_fx_rates
from cost_models.fetchers import (
    CatalogFileConflictError,
    PriceFetchError,
    WriteOutcome,
    refresh_ecb_rates,
)

EARLIER_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
 <Cube><Cube time='2026-07-08'>
  <Cube currency='USD' rate='1.1402'/><Cube currency='GBP' rate='0.8512'/>
 </Cube></Cube>
</gesmes:Envelope>
"""


def test_refresh_writes_the_xml_as_a_dated_file_the_loader_reads(ecb_url, recordings, tmp_path):
    result = refresh_ecb_rates(url=ecb_url, retry_delay_s=0)

    assert result.path == tmp_path / "cache" / "fx" / "eurofxref-daily-2026-07-09.xml"
    assert result.outcome is WriteOutcome.WRITTEN
    assert (
        result.path.read_bytes()
        == (recordings.folder / "ecb" / "eurofxref-daily-2026-07-09.xml").read_bytes()
    )
    loaded = load_fx_rates(result.path)
    assert loaded.date == date(2026, 7, 9)
    assert loaded.rate("USD") == 1.1435


def test_refresh_compares_with_the_bundled_rates_by_default(ecb_url):
    result = refresh_ecb_rates(url=ecb_url)
    assert result.compared_with is not None and result.compared_with.name == "eurofxref-daily.xml"
    assert result.previous is not None


def test_refresh_reports_changed_rates_against_an_earlier_file(ecb_url, tmp_path):
    earlier = tmp_path / "earlier.xml"
    earlier.write_bytes(EARLIER_XML)

    result = refresh_ecb_rates(url=ecb_url, against=earlier)

    changes = {change.currency: change for change in result.changes}
    assert sorted(changes) == ["GBP", "JPY", "USD"]
    assert (changes["USD"].old, changes["USD"].new) == (1.1402, 1.1435)
    assert changes["USD"].percent == pytest.approx((1.1435 - 1.1402) / 1.1402 * 100)
    assert changes["GBP"].new is None and changes["JPY"].old is None
    assert result.to_json()["previous_rate_date"] == "2026-07-08"


def test_second_refresh_of_the_same_day_changes_nothing(ecb_url):
    first = refresh_ecb_rates(url=ecb_url)
    second = refresh_ecb_rates(url=ecb_url)
    assert second.path == first.path
    assert second.outcome is WriteOutcome.UNCHANGED


def test_refresh_never_overwrites_an_edited_rates_file(ecb_url, tmp_path):
    target = tmp_path / "rates.xml"
    target.write_bytes(EARLIER_XML)  # a file the user put there
    with pytest.raises(CatalogFileConflictError, match=r"was not written by sweeper"):
        refresh_ecb_rates(url=ecb_url, out_path=target, force=True)
    assert target.read_bytes() == EARLIER_XML


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<gesmes:Envelope><Cube><Cube time='2026-07-09'>", "well-formed XML"),
        (b"<html><body>Service unavailable</body></html>", "no dated Cube"),
        (
            b"<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
            b"<Cube time='2026-07-09'><Cube currency='USD' rate='n/a'/></Cube></Cube></Envelope>",
            "must be a number",
        ),
    ],
)
def test_unusable_answer_is_one_clear_line_and_writes_nothing(local_server, tmp_path, body, reason):
    local_server.route = lambda path, query: (200, {"Content-Type": "text/xml"}, body)
    url = local_server.base_url + "/eurofxref-daily.xml"

    with pytest.raises(PriceFetchError) as caught:
        refresh_ecb_rates(url=url)

    message = str(caught.value)
    assert message.startswith(f"ECB euro reference rates answer from {url} is unusable: ")
    assert reason in message and "\n" not in message
    assert not (tmp_path / "cache").exists()


def test_not_found_names_the_url(local_server):
    url = local_server.base_url + "/wrong.xml"
    with pytest.raises(
        PriceFetchError, match=rf"answered HTTP 404 \(Not Found\) for {url}: no route"
    ):
        refresh_ecb_rates(url=url)


def test_out_directory_gets_the_dated_name(ecb_url, tmp_path: Path):
    result = refresh_ecb_rates(url=ecb_url, out_path=tmp_path)
    assert result.path == tmp_path / "eurofxref-daily-2026-07-09.xml"
