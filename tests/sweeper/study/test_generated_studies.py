"""Generated bad study files: each loads, or is refused with one bounded line; never a traceback.

Study files are generated from the schema (``sweeper/study/_schema.py``) and the bundled studies:
a bundled study is the seed, and one to four mutations change it, either on the parsed document
(a field set to a value drawn from its declared type, usually outside its bounds, or to junk of
another type; a key deleted, renamed or added; a value nested deep) or on the YAML text (a key
repeated, an alias bomb, a self-referencing anchor, bytes inserted or cut). Every file goes
through ``load_study`` (what ``sweeper quote``/``run``/``worker`` call), and a sample of them
through the real CLI in a subprocess.

Profiles (Hypothesis settings): ``ci`` (the default, about a minute on a 2-core machine) and
``long`` (``SWEEPER_FUZZ_PROFILE=long``). Run with ``-s`` to see how many files were tried.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import subprocess
import sys
import tempfile
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sweeper.errors import StudyFileError
from sweeper.study import load_study
from sweeper.study._schema import Choices, Fixed, Range, SearchSpace, Study

REPO = Path(__file__).resolve().parents[3]
SEEDS = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((REPO / "studies").glob("*.yaml"))}
#: The longest error line accepted: file path + field + a bounded value + the valid values.
MAX_MESSAGE_CHARS = 1200

PROFILE_ENV = "SWEEPER_FUZZ_PROFILE"
#: Examples per test: three in-process tests (the CLI test runs a fixed small sample).
PROFILE_EXAMPLES = {"ci": 150, "long": 3500}
settings.register_profile(
    "ci",
    max_examples=PROFILE_EXAMPLES["ci"],
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=PROFILE_EXAMPLES["long"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get(PROFILE_ENV, "ci")
if PROFILE not in PROFILE_EXAMPLES:
    raise ValueError(f"{PROFILE_ENV} must be one of {', '.join(PROFILE_EXAMPLES)}, got {PROFILE!r}")
FUZZ = settings.get_profile(PROFILE)

TRIED: dict[str, int] = {"loaded": 0, "refused": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_the_count() -> Iterator[None]:
    yield
    shutil.rmtree(FOLDER, ignore_errors=True)
    total = TRIED["loaded"] + TRIED["refused"]
    print(
        f"\ngenerated study files tried ({PROFILE} profile): {total} "
        f"({TRIED['loaded']} loaded, {TRIED['refused']} refused in one line, 0 tracebacks)"
    )


# --- values from the schema ---------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 2**63, 2**64, -1]),
    st.text(max_size=30),
    st.sampled_from(["", " ", ".", "..", "../../etc", "a/b", "é", "🙂", "x" * 5000, "1e12"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)

#: Mapping keys: YAML allows any scalar as a key.
HASHABLE = st.one_of(
    st.text(max_size=20), st.integers(), st.floats(), st.none(), st.booleans(), st.just("x" * 500)
)


def _bounds(field: Any) -> tuple[float | None, float | None]:
    low = high = None
    for item in field.metadata:
        if isinstance(item, (annotated_types.Gt, annotated_types.Ge)):
            low = float(getattr(item, "gt", getattr(item, "ge", 0)))
        if isinstance(item, (annotated_types.Lt, annotated_types.Le)):
            high = float(getattr(item, "lt", getattr(item, "le", 0)))
    return low, high


def _near(bound: float | None, integral: bool) -> st.SearchStrategy[Any]:
    if bound is None:
        return st.nothing()
    if integral:
        return st.integers(min_value=int(bound) - 2, max_value=int(bound) + 2)
    return st.sampled_from([bound, bound - 1e-9, bound + 1e-9, bound - 1, bound + 1])


def for_annotation(annotation: Any, field: Any = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the declared type, near and past its bounds, or junk of another type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    low, high = _bounds(field) if field is not None else (None, None)
    if annotation is bool:
        typed: st.SearchStrategy[Any] = st.booleans()
    elif annotation is int:
        typed = st.one_of(
            st.integers(-5, 50), _near(low, True), _near(high, True), st.integers(), st.floats()
        )
    elif annotation is float:
        typed = st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-10, max_value=10),
            _near(low, False),
            _near(high, False),
        )
    elif annotation is str:
        typed = st.one_of(st.text(max_size=40), st.sampled_from(["", "builtin:", "x" * 300]))
    elif origin is typing.Literal:
        typed = st.one_of(st.sampled_from(args), st.text(max_size=10))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and depth < 3:
        typed = for_model(annotation, depth + 1)
    elif origin is list and args:
        typed = st.lists(for_annotation(args[0], None, depth + 1), max_size=3)
    elif origin is dict and len(args) == 2:
        typed = st.dictionaries(HASHABLE, for_annotation(args[1], None, depth + 1), max_size=3)
    elif args:  # a union: X | None, Choices | Range | Fixed
        typed = st.one_of(*(for_annotation(a, field, depth) for a in args))
    else:
        typed = JUNK
    return st.one_of(typed, JUNK) if depth < 3 else typed


def for_model(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping of some of ``model``'s fields."""
    fields = {
        name: for_annotation(info.annotation, info, depth)
        for name, info in model.model_fields.items()
    }
    return st.fixed_dictionaries({}, optional=fields)


DIMENSION = st.one_of(for_model(Choices, 1), for_model(Range, 1), for_model(Fixed, 1), JUNK)


def schema_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple]:
    """(path, strategy) for every field the schema declares, nested models included."""
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if model is SearchSpace:
            yield path, DIMENSION
            continue
        yield path, for_annotation(info.annotation, info, depth=1)
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            inner = typing.get_args(arg)[0] if typing.get_origin(arg) is list else arg
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                index = (0,) if inner is not arg else ()
                yield from schema_paths(inner, (*path, *index))


FIELD_PATHS = list(schema_paths(Study))


# --- mutations ------------------------------------------------------------------------------------


def _parent(doc: Any, path: tuple, create: bool) -> Any:
    node = doc
    for part in path[:-1]:
        if isinstance(node, dict):
            if part not in node or not isinstance(node[part], (dict, list)):
                if not create:
                    return None
                node[part] = [{}] if isinstance(part, str) and part in ("partners",) else {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if not node:
                if not create:
                    return None
                node.append({})
            node = node[min(part, len(node) - 1)]
            if not isinstance(node, (dict, list)):
                return None
        else:
            return None
    return node


def _all_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out.extend(_all_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((*prefix, i))
            out.extend(_all_paths(value, (*prefix, i)))
    return out


def set_a_field(draw: st.DrawFn, doc: dict) -> None:
    """Set one field the schema declares (creating its section) to a value of its type."""
    path, values = draw(st.sampled_from(FIELD_PATHS))
    parent = _parent(doc, path, create=True)
    if isinstance(parent, dict):
        parent[path[-1]] = draw(values)


def change_a_node(draw: st.DrawFn, doc: dict) -> None:
    """Replace, delete, rename, add, nest or empty any node of the document."""
    paths = _all_paths(doc)
    if not paths:
        return
    path = draw(st.sampled_from(paths))
    parent = _parent(doc, path, create=False)
    if parent is None:
        return
    key = path[-1]
    action = draw(st.sampled_from(["junk", "delete", "rename", "add", "nest", "emptied"]))
    if action == "junk":
        parent[key] = draw(JUNK)
    elif action == "delete":
        del parent[key]
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=12))] = parent.pop(key)
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=12))] = draw(JUNK)
    elif action == "nest":
        value: Any = parent[key]
        for _ in range(draw(st.integers(1, 80))):
            value = [value]
        parent[key] = value
    elif action == "emptied":
        parent[key] = type(parent[key])() if isinstance(parent[key], (dict, list, str)) else None


def _dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=120)


@st.composite
def change_the_text(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines()
    action = draw(
        st.sampled_from(["duplicate", "bomb", "cycle", "alias", "insert", "cut", "tab", "bytes"])
    )
    if action == "duplicate" and lines:
        top = [line for line in lines if line and not line[0].isspace() and ":" in line]
        line = draw(st.sampled_from(top or lines))
        return text + line + "\n"
    if action == "bomb":
        levels, width = draw(st.integers(2, 40)), draw(st.integers(2, 10))
        bomb = ["lol0: &lol0 [lol]"]
        bomb += [
            f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * width)}]" for i in range(1, levels)
        ]
        target = draw(st.sampled_from(["description", "name", "seed", "search_space"]))
        kept = [line for line in lines if not line.startswith(f"{target}:")]
        return "\n".join([*bomb, *kept, f"{target}: *lol{levels - 1}"]) + "\n"
    if action == "cycle":
        return text + "loop: &loop [1, *loop]\n"
    if action == "alias":
        return (
            "x: &x "
            + draw(st.sampled_from(["7", "[1, 2]", "{a: 1}"]))
            + "\n"
            + text.replace("trials:", "trials: *x\nold_trials:", 1)
        )
    if action in ("insert", "cut", "tab", "bytes"):
        position = draw(st.integers(0, max(len(text) - 1, 0)))
        if action == "insert":
            piece = draw(st.text(min_size=1, max_size=6))
            return text[:position] + piece + text[position:]
        if action == "tab":
            return text[:position] + "\t" + text[position:]
        if action == "bytes":
            return (
                text[:position]
                + draw(st.sampled_from(["\x00", "\x85", "\ufeff", "%", "&", "*", "!"]))
                + text[position:]
            )
        end = position + draw(st.integers(1, 40))
        return text[:position] + text[end:]
    return text


@st.composite
def study_files(draw: st.DrawFn) -> str:
    """The text of a generated study file."""
    doc = copy.deepcopy(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from([set_a_field, set_a_field, change_a_node]))
        mutation(draw, doc)
    text = _dump(doc)
    if draw(st.booleans()):
        text = draw(change_the_text(text))
    return text


# --- the property ---------------------------------------------------------------------------------

FOLDER = Path(tempfile.mkdtemp(prefix="sweeper-fuzz-"))


def write(text: str, name: str = "generated.yaml") -> Path:
    path = FOLDER / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def loads_or_refuses_in_one_line(text: str) -> str | None:
    """None when the study loads; else the error line (asserted one bounded line)."""
    path = write(text)
    try:
        load_study(path, check_workload=True)
    except StudyFileError as exc:
        TRIED["refused"] += 1
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message[:300]
        assert len(message) <= MAX_MESSAGE_CHARS, message[:300]
        assert message.startswith(f"{path}: field '"), message[:300]
        return message
    TRIED["loaded"] += 1
    return None


@FUZZ
@given(text=study_files())
def test_generated_study_files_load_or_are_refused_in_one_line(text: str) -> None:
    loads_or_refuses_in_one_line(text)


@FUZZ
@given(data=st.data())
def test_schema_generated_documents(data: st.DataObject) -> None:
    """Whole documents drawn from the schema's types alone (no seed)."""
    doc = data.draw(for_model(Study))
    loads_or_refuses_in_one_line(_dump(doc))


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_one_field_past_its_bounds(seed: str, data: st.DataObject) -> None:
    """The seed with exactly one schema field changed: the error, if any, is about that field."""
    doc = copy.deepcopy(SEEDS[seed])
    set_a_field(data.draw, doc)
    loads_or_refuses_in_one_line(_dump(doc))


CLI_SAMPLE = {"ci": 4, "long": 40}[PROFILE]


@settings(FUZZ, max_examples=CLI_SAMPLE, derandomize=True)
@given(text=study_files())
def test_a_sample_through_the_real_cli(text: str) -> None:
    """``sweeper quote`` in a subprocess prints the same one line and exits 2 for a refused file.
    (Loaded files are quoted in-process by other tests: a quote calibrates for seconds.)"""
    message = loads_or_refuses_in_one_line(text)
    assume(message is not None)
    path = write(text)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from sweeper.cli import main; sys.exit(main())"]
        + ["quote", str(path)],
        capture_output=True,
        text=True,
        cwd=FOLDER,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.stdout + result.stderr
