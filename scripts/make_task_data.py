#!/usr/bin/env python3
"""Generate the bundled task data in ``objectives/data/`` reproducibly.

Standard library only, fixed seeds, no downloaded data: rerunning this script
rewrites every file byte for byte (a test checks it). Three skills:

* ``json_extract_{train,eval}.jsonl`` -- a sentence describing an order becomes a
  JSON object with the fixed schema name, city, item, quantity. The eval set uses
  held-out names, cities, items and sentence templates, so it measures the skill,
  not memorised strings.
* ``date_iso_{train,eval}.jsonl`` -- a sentence with a written-out date becomes the
  date in ISO 8601 (YYYY-MM-DD). A second generative skill, for merging two LoRAs.
* ``general_eval.jsonl`` -- 60 multiple-choice items of general knowledge (capitals, number
  comparison, plurals, antonyms, categories) to measure retention.

Usage: ``python scripts/make_task_data.py [--out DIR] [--check]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "objectives" / "data"

JSON_TRAIN_SIZE = 400
JSON_EVAL_SIZE = 60
DATE_TRAIN_SIZE = 300
DATE_EVAL_SIZE = 48

# --------------------------------------------------------------------------- shared vocabulary

# fmt: off
FIRST_NAMES_TRAIN = [
    "Maria", "Tom", "Aisha", "Chen", "Lena", "Omar", "Priya", "Jonas", "Sofia", "Kwame",
    "Elena", "Lucas", "Yuki", "Fatima", "Daniel", "Ingrid", "Mateo", "Hana", "Samuel", "Nadia",
    "Peter", "Amara", "Ravi", "Clara", "Diego", "Mei", "Oliver", "Zainab", "Felix", "Rosa",
]
FIRST_NAMES_EVAL = [
    "Tariq", "Astrid", "Bruno", "Keiko", "Leila", "Marcus", "Nora", "Pablo", "Greta", "Tobias",
]
LAST_NAMES_TRAIN = [
    "Lopez", "Becker", "Khan", "Wei", "Fischer", "Haddad", "Nair", "Berg", "Rossi", "Mensah",
    "Petrova", "Silva", "Tanaka", "Ali", "Novak", "Larsen", "Garcia", "Kim", "Okafor", "Dubois",
    "Meyer", "Costa", "Sharma", "Weber", "Morales", "Lin", "Walsh", "Yilmaz", "Schmidt", "Ortiz",
]
LAST_NAMES_EVAL = [
    "Andersen", "Kowalski", "Moreau", "Nakamura", "Osei", "Fernandes", "Lindqvist", "Brennan",
    "Hoffmann", "Rahman",
]
CITIES_TRAIN = [
    "Denver", "Oslo", "Nairobi", "Toronto", "Munich", "Cairo", "Mumbai", "Stockholm", "Lisbon",
    "Accra", "Sofia", "Porto", "Osaka", "Dubai", "Prague", "Aarhus", "Seville", "Busan", "Lagos",
    "Lyon", "San Diego", "Buenos Aires", "Cape Town", "New Delhi", "Kuala Lumpur", "Chicago",
    "Vienna", "Melbourne", "Dublin", "Istanbul",
]
CITIES_EVAL = [
    "Rio de Janeiro", "Helsinki", "Kyoto", "Marseille", "Bogota", "Krakow", "Hamburg",
    "Salt Lake City", "Edinburgh", "Tunis",
]
# (singular, plural)
ITEMS_TRAIN = [
    ("notebook", "notebooks"), ("lamp", "lamps"), ("mug", "mugs"), ("backpack", "backpacks"),
    ("candle", "candles"), ("chair", "chairs"), ("kettle", "kettles"), ("umbrella", "umbrellas"),
    ("pillow", "pillows"), ("towel", "towels"), ("blanket", "blankets"), ("desk", "desks"),
    ("mirror", "mirrors"), ("clock", "clocks"), ("bottle", "bottles"), ("basket", "baskets"),
    ("jacket", "jackets"), ("helmet", "helmets"), ("plate", "plates"), ("teapot", "teapots"),
    ("keyboard", "keyboards"), ("printer", "printers"), ("tent", "tents"), ("box", "boxes"),
    ("brush", "brushes"), ("knife", "knives"), ("battery", "batteries"), ("scarf", "scarves"),
]
ITEMS_EVAL = [
    ("stapler", "staplers"), ("cushion", "cushions"), ("wallet", "wallets"),
    ("shelf", "shelves"), ("watch", "watches"), ("puzzle", "puzzles"), ("bowl", "bowls"),
    ("speaker", "speakers"),
]
NUMBER_WORDS = {
    1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
    9: "nine", 10: "ten", 11: "eleven", 12: "twelve",
}
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# fmt: on

# --------------------------------------------------------------------------- JSON extraction

JSON_INSTRUCTION = (
    'Extract the order as a JSON object with exactly the keys "name" (full name), "city", '
    '"item" (singular, lowercase) and "quantity" (integer). Reply with the JSON only.'
)

# Placeholders: {name} {city} {qi} (quantity + item, e.g. "three notebooks"),
# {num} (a distracting order number), {date} (a distracting date).
ORDER_TEMPLATES_TRAIN = [
    "{name} from {city} ordered {qi}.",
    "Please send {qi} to {name} in {city}.",
    "Order for {name} ({city}): {qi}.",
    "Hi, this is {name} in {city}. I'd like {qi}, please.",
    "Ship {qi} to {name}, {city}.",
    "Customer {name} of {city} wants {qi}.",
    "Can {name} in {city} get {qi}?",
    "{name} called from {city} asking for {qi}.",
    "New order #{num}: {qi} for {name}, who lives in {city}.",
    "Deliver {qi} to {city} for {name} by Friday.",
    "{city} customer {name} just bought {qi}.",
    "We received a request from {name} ({city}) on {date} for {qi}.",
    "{name} would like {qi} delivered to their home in {city}.",
    "Invoice {num}: {name}, {city}, {qi}.",
]
ORDER_TEMPLATES_EVAL = [
    "Yesterday {name} phoned from {city} and ordered {qi} for the office.",
    "From {city}, {name} writes: please reserve {qi}.",
    "Reminder: {name} in {city} paid for {qi} (ticket {num}).",
    "{Qi} for {name}, shipping address in {city}.",
    "On {date}, {name} asked us to ship {qi} to {city}.",
]


def _quantity_phrase(rng: random.Random, singular: str, plural: str) -> tuple[int, str]:
    """A quantity and its surface form with the item, e.g. (12, "a dozen mugs")."""
    style = rng.random()
    if style < 0.5:
        quantity = rng.choice([rng.randint(2, 30), rng.randint(2, 12), rng.choice([40, 50, 100])])
        return quantity, f"{quantity} {plural}"
    if style < 0.78:
        quantity = rng.randint(1, 12)
        if quantity == 1:
            article = rng.choice(["one", "a single", "an" if singular[0] in "aeiou" else "a"])
            return 1, f"{article} {singular}"
        return quantity, f"{NUMBER_WORDS[quantity]} {plural}"
    quantity, words = rng.choice(
        [
            (12, "a dozen"),
            (6, "half a dozen"),
            (2, "a pair of"),
            (2, "a couple of"),
            (24, "two dozen"),
        ]
    )
    return quantity, f"{words} {plural}"


def _random_date_text(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"


def _order_example(
    rng: random.Random,
    templates: list[str],
    first_names: list[str],
    last_names: list[str],
    cities: list[str],
    items: list[tuple[str, str]],
) -> dict[str, object]:
    name = f"{rng.choice(first_names)} {rng.choice(last_names)}"
    city = rng.choice(cities)
    singular, plural = rng.choice(items)
    quantity, qi = _quantity_phrase(rng, singular, plural)
    template = rng.choice(templates)
    sentence = template.format(
        name=name,
        city=city,
        qi=qi,
        Qi=qi[0].upper() + qi[1:],
        num=rng.randint(1000, 9999),
        date=_random_date_text(rng),
    )
    fields = {"name": name, "city": city, "item": singular, "quantity": quantity}
    return {
        "prompt": f"{JSON_INSTRUCTION}\n\nText: {sentence}",
        "completion": json.dumps(fields, ensure_ascii=False),
        "fields": fields,
    }


def make_json_extract(seed: int = 1234) -> tuple[list[dict], list[dict]]:
    """Train and eval sets; eval mixes held-out entities and templates with seen ones."""
    rng = random.Random(seed)
    train = _unique(
        lambda: _order_example(
            rng,
            ORDER_TEMPLATES_TRAIN,
            FIRST_NAMES_TRAIN,
            LAST_NAMES_TRAIN,
            CITIES_TRAIN,
            ITEMS_TRAIN,
        ),
        JSON_TRAIN_SIZE,
        seen=set(),
    )
    seen = {row["prompt"] for row in train}

    def eval_example() -> dict[str, object]:
        held_out = rng.random() < 0.6
        return _order_example(
            rng,
            ORDER_TEMPLATES_EVAL if rng.random() < 0.5 else ORDER_TEMPLATES_TRAIN,
            FIRST_NAMES_EVAL if held_out else FIRST_NAMES_TRAIN,
            LAST_NAMES_EVAL if rng.random() < 0.6 else LAST_NAMES_TRAIN,
            CITIES_EVAL if rng.random() < 0.5 else CITIES_TRAIN,
            ITEMS_EVAL if rng.random() < 0.4 else ITEMS_TRAIN,
        )

    evaluation = _unique(eval_example, JSON_EVAL_SIZE, seen=seen)
    return _with_ids("json-train", train), _with_ids("json-eval", evaluation)


# --------------------------------------------------------------------------- ISO dates

DATE_INSTRUCTION = (
    "Write the date mentioned in the text below in ISO 8601 format (YYYY-MM-DD). "
    "Reply with only the date."
)
DATE_SENTENCES = [
    "The meeting was moved to {d}.",
    "Her flight leaves on {d}.",
    "The invoice is due {d}.",
    "We signed the lease on {d}.",
    "The museum reopens {d}.",
    "Please submit the report before {d}.",
    "He was born on {d}.",
    "The concert took place on {d}.",
    "Our office will be closed on {d}.",
    "The warranty expires {d}.",
]
DATE_SENTENCES_EVAL = [
    "Registration closes on {d}, so hurry.",
    "The package arrived on {d} in good shape.",
]


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


DATE_FORMATS_TRAIN: list[Callable[[dt.date], str]] = [
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"the {_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]}. {d.day}, {d.year}",
    lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
]
DATE_FORMATS_EVAL: list[Callable[[dt.date], str]] = [
    lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
]


def _date_example(
    rng: random.Random,
    sentences: list[str],
    formats: list[Callable[[dt.date], str]],
) -> dict[str, object]:
    start = dt.date(1990, 1, 1).toordinal()
    date = dt.date.fromordinal(start + rng.randint(0, 40 * 365))
    sentence = rng.choice(sentences).format(d=rng.choice(formats)(date))
    return {
        "prompt": f"{DATE_INSTRUCTION}\n\nText: {sentence}",
        "completion": date.isoformat(),
        "fields": {"year": date.year, "month": date.month, "day": date.day},
    }


def make_date_iso(seed: int = 4321) -> tuple[list[dict], list[dict]]:
    """Train and eval sets; eval adds held-out date formats and sentences."""
    rng = random.Random(seed)
    train = _unique(
        lambda: _date_example(rng, DATE_SENTENCES, DATE_FORMATS_TRAIN), DATE_TRAIN_SIZE, seen=set()
    )
    seen = {row["prompt"] for row in train}
    evaluation = _unique(
        lambda: _date_example(
            rng,
            DATE_SENTENCES + DATE_SENTENCES_EVAL,
            DATE_FORMATS_EVAL if rng.random() < 0.5 else DATE_FORMATS_TRAIN,
        ),
        DATE_EVAL_SIZE,
        seen=seen,
    )
    return _with_ids("date-train", train), _with_ids("date-eval", evaluation)


# --------------------------------------------------------------------------- general MC

CAPITALS = [
    ("France", "Paris", ["Lyon", "Marseille", "Nice"]),
    ("Japan", "Tokyo", ["Osaka", "Kyoto", "Nagoya"]),
    ("Italy", "Rome", ["Milan", "Naples", "Turin"]),
    ("Egypt", "Cairo", ["Alexandria", "Giza", "Luxor"]),
    ("Canada", "Ottawa", ["Toronto", "Vancouver", "Montreal"]),
    ("Australia", "Canberra", ["Sydney", "Melbourne", "Perth"]),
    ("Brazil", "Brasilia", ["Rio de Janeiro", "Sao Paulo", "Salvador"]),
    ("Spain", "Madrid", ["Barcelona", "Seville", "Valencia"]),
    ("Germany", "Berlin", ["Munich", "Hamburg", "Frankfurt"]),
    ("Kenya", "Nairobi", ["Mombasa", "Kisumu", "Nakuru"]),
    ("Peru", "Lima", ["Cusco", "Arequipa", "Trujillo"]),
    ("Norway", "Oslo", ["Bergen", "Trondheim", "Stavanger"]),
    ("Turkey", "Ankara", ["Istanbul", "Izmir", "Antalya"]),
    ("Vietnam", "Hanoi", ["Ho Chi Minh City", "Da Nang", "Hue"]),
    ("Morocco", "Rabat", ["Casablanca", "Marrakesh", "Fez"]),
    ("Switzerland", "Bern", ["Zurich", "Geneva", "Basel"]),
    ("New Zealand", "Wellington", ["Auckland", "Christchurch", "Dunedin"]),
    ("Nigeria", "Abuja", ["Lagos", "Kano", "Ibadan"]),
    ("Poland", "Warsaw", ["Krakow", "Gdansk", "Wroclaw"]),
    ("Argentina", "Buenos Aires", ["Cordoba", "Rosario", "Mendoza"]),
    ("Thailand", "Bangkok", ["Chiang Mai", "Phuket", "Pattaya"]),
    ("Portugal", "Lisbon", ["Porto", "Braga", "Coimbra"]),
    ("Greece", "Athens", ["Thessaloniki", "Patras", "Heraklion"]),
    ("Chile", "Santiago", ["Valparaiso", "Concepcion", "Antofagasta"]),
    ("South Korea", "Seoul", ["Busan", "Incheon", "Daegu"]),
]
ANTONYMS = [
    ("hot", "cold", ["warm", "spicy", "bright"]),
    ("tall", "short", ["high", "large", "thin"]),
    ("happy", "sad", ["glad", "calm", "funny"]),
    ("fast", "slow", ["quick", "loud", "early"]),
    ("open", "closed", ["empty", "wide", "free"]),
    ("early", "late", ["soon", "first", "quick"]),
    ("heavy", "light", ["big", "thick", "strong"]),
    ("rich", "poor", ["wealthy", "proud", "busy"]),
    ("begin", "end", ["start", "open", "try"]),
    ("buy", "sell", ["pay", "get", "shop"]),
    ("ancient", "modern", ["old", "famous", "broken"]),
    ("generous", "stingy", ["kind", "brave", "honest"]),
    ("expand", "shrink", ["grow", "spread", "stretch"]),
    ("victory", "defeat", ["success", "battle", "triumph"]),
    ("scarce", "plentiful", ["rare", "small", "expensive"]),
    ("accept", "refuse", ["receive", "allow", "take"]),
    ("rough", "smooth", ["hard", "tough", "sharp"]),
    ("arrive", "depart", ["come", "reach", "enter"]),
    ("shallow", "deep", ["narrow", "wet", "low"]),
    ("visible", "hidden", ["clear", "bright", "seen"]),
]
PLURALS = [
    ("mouse", "mice", ["mouses", "mices"]),
    ("child", "children", ["childs", "childes"]),
    ("tooth", "teeth", ["tooths", "teeths"]),
    ("foot", "feet", ["foots", "feets"]),
    ("goose", "geese", ["gooses", "geeses"]),
    ("woman", "women", ["womans", "womens"]),
    ("leaf", "leaves", ["leafs", "leafes"]),
    ("wolf", "wolves", ["wolfs", "wolfes"]),
    ("person", "people", ["persons", "peoples"]),
    ("cactus", "cacti", ["cactuses", "cactis"]),
    ("ox", "oxen", ["oxes", "oxs"]),
    ("knife", "knives", ["knifes", "knive"]),
    ("city", "cities", ["citys", "cityes"]),
    ("box", "boxes", ["boxs", "boxen"]),
    ("crisis", "crises", ["crisises", "crisis"]),
]
CATEGORIES = {
    "fruit": ["apple", "banana", "mango", "cherry", "pear", "plum"],
    "animal": ["horse", "rabbit", "tiger", "sheep", "eagle", "otter"],
    "tool": ["hammer", "wrench", "screwdriver", "saw", "chisel", "pliers"],
    "musical instrument": ["violin", "trumpet", "piano", "flute", "cello", "drum"],
    "vehicle": ["truck", "bicycle", "tram", "scooter", "van", "canoe"],
    "color": ["purple", "beige", "crimson", "teal", "yellow", "indigo"],
}
ARTICLE = {"animal": "an"}


def _shuffled_choices(rng: random.Random, correct: str, wrong: list[str]) -> tuple[list[str], int]:
    choices = [correct, *wrong]
    rng.shuffle(choices)
    return choices, choices.index(correct)


def make_general(seed: int = 99) -> list[dict]:
    """60 multiple-choice items over five kinds of question, three choices each
    (two for number comparison)."""
    rng = random.Random(seed)
    items: list[dict] = []

    for country, capital, others in rng.sample(CAPITALS, 16):
        choices, answer = _shuffled_choices(rng, capital, rng.sample(others, 2))
        items.append(_mc("capital", f"What is the capital of {country}?", choices, answer))

    for _ in range(8):
        a, b = rng.sample(range(11, 100), 2)
        choices = [str(a), str(b)]
        answer = choices.index(str(max(a, b)))
        items.append(_mc("compare", f"Which number is larger: {a} or {b}?", choices, answer))

    for word, plural, wrong in rng.sample(PLURALS, 12):
        choices, answer = _shuffled_choices(rng, plural, wrong)
        items.append(_mc("plural", f"What is the plural of the word '{word}'?", choices, answer))

    for word, antonym, others in rng.sample(ANTONYMS, 12):
        choices, answer = _shuffled_choices(rng, antonym, rng.sample(others, 2))
        items.append(_mc("antonym", f"What is the opposite of the word '{word}'?", choices, answer))

    names = sorted(CATEGORIES)
    for index in range(12):
        category = names[index % len(names)]
        correct = rng.choice(CATEGORIES[category])
        wrong_categories = rng.sample([c for c in names if c != category], 2)
        wrong = [rng.choice(CATEGORIES[c]) for c in wrong_categories]
        choices, answer = _shuffled_choices(rng, correct, wrong)
        article = ARTICLE.get(category, "a")
        question = f"Which of these is {article} {category}?"
        items.append(_mc("category", question, choices, answer))

    return _with_ids("general", items)


def _mc(kind: str, question: str, choices: list[str], answer: int) -> dict[str, object]:
    return {
        "kind": kind,
        "question": f"{question} Answer with only the answer.",
        "choices": choices,
        "answer": answer,
    }


# --------------------------------------------------------------------------- output


def _unique(make: Callable[[], dict], count: int, *, seen: set[str]) -> list[dict]:
    """``count`` examples with prompts unseen so far (``seen`` is updated)."""
    rows: list[dict] = []
    key = "prompt"
    while len(rows) < count:
        row = make()
        text = row.get(key) or row["question"]
        if text in seen:
            continue
        seen.add(text)
        rows.append(row)
    return rows


def _with_ids(prefix: str, rows: Iterable[dict]) -> list[dict]:
    return [{"id": f"{prefix}-{i:04d}", **row} for i, row in enumerate(rows)]


def build_all() -> dict[str, list[dict]]:
    """Every data file's name and rows."""
    json_train, json_eval = make_json_extract()
    date_train, date_eval = make_date_iso()
    return {
        "json_extract_train.jsonl": json_train,
        "json_extract_eval.jsonl": json_eval,
        "date_iso_train.jsonl": date_train,
        "date_iso_eval.jsonl": date_eval,
        "general_eval.jsonl": make_general(),
    }


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="only compare with the files on disk; exit 1 on a diff"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, rows in build_all().items():
        path = args.out / name
        text = render(rows)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path} ({len(rows)} rows)")
    if stale:
        print(f"out of date: {', '.join(stale)}; rerun scripts/make_task_data.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
