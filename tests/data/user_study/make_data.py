"""Write this user-style study's data: invoice sentences -> JSON, and a currency quiz.

Deterministic (seeded): running it again writes the same files. Usage:
    python tests/data/user_study/make_data.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTRUCTION = "Extract the invoice as JSON with keys vendor, amount, currency."

VENDORS = [
    "Acme Tools",
    "Blue Harbor Cafe",
    "Northwind Traders",
    "Lumen Labs",
    "Greenleaf Florist",
    "Orbit Printing",
    "Vega Motors",
    "Cedar Dental",
    "Pixel Forge",
    "Riverside Bakery",
    "Summit Outdoor",
    "Atlas Logistics",
    "Nimbus Cloud",
    "Harbor Books",
    "Quartz Electric",
    "Maple Furniture",
    "Solstice Travel",
    "Iron Gate Security",
    "Bright Pharmacy",
    "Delta Office",
]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY"]
TEMPLATES = [
    "Paid {amount} {currency} to {vendor} on {day} {month}.",
    "Invoice from {vendor}: {amount} {currency}, due {day} {month}.",
    "{vendor} billed us {amount} {currency} for the {month} order.",
    "Received a bill of {amount} {currency} from {vendor} ({day} {month}).",
    "Transfer of {amount} {currency} to {vendor} was approved on {day} {month}.",
]
MONTHS = ["January", "March", "May", "July", "September", "November"]
COUNTRIES = {
    "Germany": "EUR",
    "France": "EUR",
    "Italy": "EUR",
    "Spain": "EUR",
    "the United States": "USD",
    "the United Kingdom": "GBP",
    "Switzerland": "CHF",
    "Japan": "JPY",
    "Ireland": "EUR",
    "Austria": "EUR",
    "Portugal": "EUR",
    "Finland": "EUR",
    "Netherlands": "EUR",
    "Liechtenstein": "CHF",
    "Greece": "EUR",
    "Belgium": "EUR",
}


def invoice(rng: random.Random) -> tuple[str, dict]:
    vendor, currency = rng.choice(VENDORS), rng.choice(CURRENCIES)
    if currency == "JPY":  # no minor unit
        amount: float = rng.randint(500, 90000)
        shown = str(amount)
    else:
        amount = rng.randint(500, 99999) / 100
        shown = f"{amount:.2f}"
    sentence = rng.choice(TEMPLATES).format(
        vendor=vendor,
        amount=shown,
        currency=currency,
        day=rng.randint(1, 28),
        month=rng.choice(MONTHS),
    )
    return f"{INSTRUCTION}\nInvoice: {sentence}", {
        "vendor": vendor,
        "amount": amount,
        "currency": currency,
    }


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    rng = random.Random(11)
    pairs = [invoice(rng) for _ in range(140)]
    train, held_out = pairs[:100], pairs[100:]
    # The training file uses the team's own key names too: mapped in the study with data.fields.
    write_jsonl(
        HERE / "data" / "train.jsonl",
        [{"invoice": p, "json": json.dumps(t)} for p, t in train],
    )
    # The eval file uses the team's own key names: mapped in the study with `fields`.
    write_jsonl(HERE / "data" / "eval.jsonl", [{"question": p, "answer": t} for p, t in held_out])
    quiz = [
        {
            "question": f"Which currency is used in {country}? Answer with its ISO code.",
            "choices": CURRENCIES,
            "answer": CURRENCIES.index(code),
        }
        for country, code in COUNTRIES.items()
    ]
    write_jsonl(HERE / "tasks" / "currency_codes" / "currency_codes.jsonl", quiz)


if __name__ == "__main__":
    main()
