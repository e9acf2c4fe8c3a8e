"""Money in euros: one dated conversion, the bundled ECB rate, overrides and the ECB XML format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cost_models import FxError, FxRates, load_fx_rates, parse_ecb_xml

ECB_DAILY = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
\t\t<Cube time='2026-07-09'>
\t\t\t<Cube currency='USD' rate='1.1435'/>
\t\t\t<Cube currency='JPY' rate='185.72'/>
\t\t</Cube>
\t</Cube>
</gesmes:Envelope>
"""


def test_bundled_rate_is_the_dated_ecb_reference_rate() -> None:
    fx = load_fx_rates()
    assert fx.date == dt.date(2026, 7, 9)
    assert fx.usd_per_eur == 1.1435
    assert fx.describe() == "1 EUR = 1.1435 USD (ECB reference rate, 2026-07-09)"
    assert fx.to_eur(1.1435, "USD") == pytest.approx(1.0)
    assert fx.to_eur(5.0, "EUR") == 5.0


def test_parse_real_ecb_daily_format() -> None:
    fx = parse_ecb_xml(ECB_DAILY)
    assert fx.date == dt.date(2026, 7, 9)
    assert fx.rate("usd") == 1.1435 and fx.rate("JPY") == 185.72
    assert fx.to_eur(185.72, "JPY") == pytest.approx(1.0)


def test_history_file_uses_the_latest_day() -> None:
    history = ECB_DAILY.replace(
        "\t<Cube>\n",
        "\t<Cube>\n\t\t<Cube time='2026-07-08'><Cube currency='USD' rate='1.2000'/></Cube>\n",
        1,
    )
    assert parse_ecb_xml(history).usd_per_eur == 1.1435


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "eurofxref-daily.xml"
    path.write_text(ECB_DAILY.replace("1.1435", "1.2"), encoding="utf-8")
    assert load_fx_rates(path).usd_per_eur == 1.2
    with pytest.raises(FxError, match="must exist"):
        load_fx_rates(tmp_path / "missing.xml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<not xml", "must be well-formed XML"),
        (ECB_DAILY.replace("time='2026-07-09'", "day='2026-07-09'"), "must contain <Cube time="),
        (ECB_DAILY.replace("rate='1.1435'", "rate='n/a'"), "must be a number, but got USD 'n/a'"),
        (ECB_DAILY.replace("rate='1.1435'", "rate='-1'"), "must be a positive number"),
    ],
)
def test_malformed_ecb_xml(text: str, message: str) -> None:
    with pytest.raises(FxError, match=message):
        parse_ecb_xml(text)


def test_override_is_dated_and_says_so() -> None:
    fx = FxRates.fixed(
        usd_per_eur=1.10, date=dt.date(2026, 11, 26), source="--fx-usd-per-eur override"
    )
    assert fx.describe() == "1 EUR = 1.1 USD (--fx-usd-per-eur override, 2026-11-26)"
    assert fx.to_eur(11.0, "USD") == pytest.approx(10.0)


def test_unknown_currency_names_the_table() -> None:
    with pytest.raises(
        FxError,
        match=r"No exchange rate for 'GBP' in the ECB reference rate of 2026-07-09; "
        r"known currencies: EUR, JPY, USD",
    ):
        load_fx_rates().to_eur(1.0, "GBP")
