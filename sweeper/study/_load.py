"""Loading a study file: YAML -> validated ``Study`` -> resolved paths, or one clear error.

Every problem becomes a ``StudyFileError`` that names the file, the field (dotted path), the bad
value and what is valid. The CLI prints it as one line and exits with code 2.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sweeper.errors import StudyFileError
from sweeper.study._schema import Study, _clean, _FieldError

BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class LoadedStudy:
    """A validated study plus where it came from."""

    spec: Study
    path: Path
    sha256: str
    train_file: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.spec.objectives]

    @property
    def directions(self) -> list[str]:
        from sweeper.metrics import COST_METRICS, quality_metric

        out = []
        for o in self.spec.objectives:
            info = COST_METRICS.get(o.name) or quality_metric(o.name)
            out.append(o.direction or info.direction)
        return out


def builtin_studies_dir() -> Path:
    """The repository's ``studies/`` folder (the project is installed editable from its checkout)."""
    return Path(__file__).resolve().parents[2] / "studies"


def resolve_study_path(study: str | Path) -> Path:
    """A path to a YAML file, or the name of a bundled study (``demo``)."""
    path = Path(study)
    if path.exists():
        return path
    bundled = builtin_studies_dir() / f"{study}.yaml"
    if not path.suffix and bundled.exists():
        return bundled
    available = sorted(p.stem for p in builtin_studies_dir().glob("*.yaml"))
    raise StudyFileError(
        path, "(file)", str(study), f"no such file; bundled studies: {', '.join(available)}"
    )


def load_study(study: str | Path) -> LoadedStudy:
    """Read, validate and resolve a study file. Raises ``StudyFileError`` with the field at fault."""
    path = resolve_study_path(study)
    raw_bytes = path.read_bytes()
    try:
        raw = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        raise StudyFileError(
            path, "(YAML syntax)", where, f"not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(raw, dict):
        raise StudyFileError(
            path, "(top level)", raw, "a mapping of study fields (name, data, eval, ...)"
        )
    try:
        spec = Study.model_validate(raw)
    except ValidationError as exc:
        raise _to_study_error(path, raw, exc) from None
    train_file = _resolve_data_file(path, "data.train", spec.data.train)
    _check_references(path, spec)
    return LoadedStudy(
        spec=spec, path=path, sha256=hashlib.sha256(raw_bytes).hexdigest(), train_file=train_file
    )


# --- checks against the world outside the file ----------------------------------------------------


def _resolve_data_file(study_path: Path, field: str, value: str) -> Path:
    if value.startswith(BUILTIN_PREFIX):
        from objectives import ObjectiveError, data_file

        name = value[len(BUILTIN_PREFIX) :]
        try:
            return data_file(name)
        except ObjectiveError:
            from objectives.task_data import DATA_DIR

            available = ", ".join(
                f"builtin:{p.name}" for p in sorted(DATA_DIR.glob("*_train.jsonl"))
            )
            raise StudyFileError(
                study_path, field, value, f"no such bundled file; available: {available}"
            ) from None
    candidate = Path(value)
    if not candidate.is_absolute():
        candidate = (study_path.parent / candidate).resolve()
    if not candidate.is_file():
        raise StudyFileError(
            study_path,
            field,
            value,
            f"no such file ({candidate}); give a JSONL file of prompt/completion pairs",
        )
    return candidate


def _check_references(path: Path, spec: Study) -> None:
    from objectives import TASKS

    for metric, task in spec.eval.tasks.items():
        if task not in TASKS:
            raise StudyFileError(
                path,
                f"eval.tasks.{metric}",
                task,
                f"unknown task; available: {', '.join(sorted(TASKS))}",
            )
    from cost_models import load_catalog
    from cost_models.errors import CostModelError

    catalog = load_catalog()
    for field, hw in (
        ("hardware.target", spec.hardware.target),
        ("hardware.trial", spec.hardware.trial),
    ):
        if hw.instance is None:
            continue
        try:
            catalog.offer(hw.instance, provider=hw.provider, region=hw.region)
        except CostModelError as exc:
            raise StudyFileError(path, f"{field}.instance", hw.instance, str(exc)) from None
    if spec.projection.model is not None:
        from cost_models import model_shape

        try:
            model_shape(spec.projection.model)
        except CostModelError as exc:
            raise StudyFileError(
                path, "projection.model", spec.projection.model, str(exc)
            ) from None


# --- pydantic errors -> one line ---------------------------------------------------------------


def _to_study_error(path: Path, raw: dict[str, Any], exc: ValidationError) -> StudyFileError:
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):
        return StudyFileError(path, cause.field, cause.value, cause.valid)
    field = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(Study, loc[:-1])
        return StudyFileError(
            path, field, loc[-1], f"unknown key; valid keys here: {', '.join(allowed)}"
        )
    if kind == "missing":
        return StudyFileError(path, field, None, "required field is missing")
    return StudyFileError(path, field, _lookup(raw, loc, error.get("input")), _clean(error["msg"]))


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _lookup(raw: Any, loc: list[str], default: Any) -> Any:
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node
