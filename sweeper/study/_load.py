"""Loading a study file: YAML -> validated ``Study`` -> resolved paths, or one clear error.

Every problem becomes a ``StudyFileError`` that names the file, the field (dotted path), the bad
value and what is valid. The CLI prints it as one line and exits with code 2.

Two depths. Every load validates the file, its data files and its catalog references (cheap).
The workload checks -- the eval tasks resolve (a task of lm-eval's own catalogue makes lm-eval
index it, 10-20 s) and the model's config holds the target modules the search space names (a
skeleton built on the meta device) -- run only for the commands that will train or quote
(``load_study(..., check_workload=True)``); for the others (``show``, ``report``, ``reprice``,
``sync``, ``export``) the eval tasks are resolved the first time something reads them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cost_models import PRICING_MODELS
from objectives.errors import EvalTaskError
from objectives.eval_tasks import EvalTask, TaskOptions, jsonl_task, named_task
from sweeper.errors import StudyFileError
from sweeper.metrics import COST_METRICS, quality_metric
from sweeper.model_config import ModelConfigError, study_model_shape
from sweeper.study._schema import Choices, EvalTaskEntry, Fixed, Study, _clean, _FieldError
from sweeper.study._yaml import load_yaml

BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class LoadedStudy:
    """A validated study plus where it came from."""

    spec: Study
    path: Path
    sha256: str
    train_file: Path
    train_format: str = "prompt_completion"
    """The training data's format, as given or detected from its first record."""
    _resolved_tasks: Mapping[str, EvalTask] | None = dataclass_field(
        default=None, repr=False, compare=False
    )

    @functools.cached_property
    def eval_tasks(self) -> Mapping[str, EvalTask]:
        """Metric name -> its evaluation task, resolved (``eval.tasks``, in file order).

        Resolved at load time by ``load_study(..., check_workload=True)``, else when first read
        (raises ``StudyFileError`` then)."""
        if self._resolved_tasks is not None:
            return self._resolved_tasks
        return MappingProxyType(resolve_eval_tasks(self.path, self.spec))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.spec.objectives]

    @property
    def directions(self) -> list[str]:
        out = []
        for o in self.spec.objectives:
            info = COST_METRICS.get(o.name) or quality_metric(o.name)
            out.append(o.direction or info.direction)
        return out


def builtin_studies_dir() -> Path:
    """The repository's ``studies/`` folder (the project is installed editable from its
    checkout)."""
    return Path(__file__).resolve().parents[2] / "studies"


def resolve_study_path(study: str | Path) -> Path:
    """A path to a YAML file, or the name of a bundled study (``demo``)."""
    path = Path(study)
    if _is_file(path):
        return path
    bundled = builtin_studies_dir() / f"{study}.yaml"
    if not path.suffix and _is_file(bundled):
        return bundled
    available = sorted(p.stem for p in builtin_studies_dir().glob("*.yaml"))
    raise StudyFileError(
        path, "(file)", str(study), f"no such file; bundled studies: {', '.join(available)}"
    )


def load_study(study: str | Path, *, check_workload: bool = False) -> LoadedStudy:
    """Read, validate and resolve a study file. Raises ``StudyFileError`` with the field at
    fault.

    ``check_workload``: also resolve the eval tasks and check the model's config against the
    search space's target modules now (the commands that train or quote); without it the eval
    tasks are resolved when first read and the model's modules are not checked."""
    path = resolve_study_path(study)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise StudyFileError(
            path, "(file)", str(study), f"cannot read it: {exc.strerror}"
        ) from None
    try:
        raw = load_yaml(raw_bytes)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StudyFileError(path, "(YAML)", where, f"not a usable study file: {problem}") from None
    if not isinstance(raw, dict):
        raise StudyFileError(
            path, "(top level)", raw, "a mapping of study fields (name, data, eval, ...)"
        )
    try:
        spec = Study.model_validate(raw)
    except ValidationError as exc:
        raise _to_study_error(path, raw, exc) from None
    train_file = _resolve_data_file(path, "data.train", spec.data.train)
    _check_model_path(path, spec.model.path)
    train_format = _check_train_data(train_file, spec.data.format, spec.data.fields)
    eval_tasks = MappingProxyType(resolve_eval_tasks(path, spec)) if check_workload else None
    _check_references(path, spec)
    if check_workload:
        _check_model(path, spec)
    return LoadedStudy(
        spec=spec,
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        train_file=train_file,
        train_format=train_format,
        _resolved_tasks=eval_tasks,
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
        candidate = _resolved(study_path.parent / candidate)
    if not (_is_file(candidate) or _is_dataset_folder(candidate)):
        raise StudyFileError(
            study_path,
            field,
            value,
            f"no such file ({candidate}); give a JSONL file of training records or a folder "
            "written by datasets.Dataset.save_to_disk",
        )
    return candidate


def _check_train_data(
    train_file: Path, data_format: str | None, fields: dict[str, str] | None = None
) -> str:
    """Read every record of the training data now, so that a bad line stops the study before
    anything trains; returns the format."""
    from objectives.train_data import TrainDataError, load_train_data

    try:
        return load_train_data(train_file, format=data_format, fields=fields).format
    except TrainDataError as exc:
        raise StudyFileError(exc.path, exc.field, exc.value, exc.valid) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyFileError(
            train_file,
            "data.train",
            str(train_file),
            f"not a readable UTF-8 file: {type(exc).__name__}",
        ) from None


def _check_model(path: Path, spec: Study) -> None:
    """The model's configuration can be read (a hub id offline cannot), and every target-module
    preset or name of the search space (and of merge partners) exists in it. Builds the model
    on the meta device from its config: no weights are loaded.

    The bundled model is a Llama, whose module names the presets are written in; it is not
    checked here (its first use converts it, which takes half a minute).
    """
    from objectives import AssetError, TrainConfigError
    from objectives.assets import model_skeleton
    from objectives.target_modules import linear_module_paths, resolve_target_modules

    model = spec.model
    if model.path.startswith(BUILTIN_PREFIX):
        return
    try:  # its shape first: the quote and the cost projection read it (one-line errors)
        study_model_shape(model)
    except ModelConfigError as exc:
        raise StudyFileError(path, "model.path", model.path, str(exc)) from None
    location = _model_location(path, model.path)
    try:
        skeleton = model_skeleton(
            location, revision=model.revision, trust_remote_code=model.trust_remote_code
        )
    except AssetError as exc:
        raise StudyFileError(path, "model.path", model.path, str(exc)) from None
    linear = linear_module_paths(skeleton)
    dim = spec.search_space.target_modules
    values = (
        list(dim.choices)
        if isinstance(dim, Choices)
        else [dim.value]
        if isinstance(dim, Fixed)
        else []
    )
    checks = [("search_space.target_modules", v) for v in values]
    if spec.merge is not None:
        checks += [
            (f"merge.partners.{i}.lora.target_modules", p.lora.target_modules)
            for i, p in enumerate(spec.merge.partners)
            if p.train is not None
        ]
    for field, value in checks:
        try:
            resolve_target_modules(value, linear)
        except TrainConfigError as exc:
            raise StudyFileError(path, field, value, str(exc)) from None


def _model_location(study_path: Path, value: str) -> str:
    """A model folder (as given, else relative to the study file), or the value (a hub id)."""
    candidate = Path(value).expanduser()
    if candidate.is_dir():
        return str(candidate)
    if not candidate.is_absolute():
        relative = (study_path.parent / candidate).resolve()
        if relative.is_dir():
            return str(relative)
    return value


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the OS cannot even look up (too long, a NUL byte)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _is_dataset_folder(path: Path) -> bool:
    """A folder written by ``datasets.Dataset.save_to_disk``; False for an unusable name."""
    from objectives.train_data import is_dataset_folder

    try:
        return is_dataset_folder(path)
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or the path as given where the OS refuses to look it up."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return path


def _expanded(spec: str) -> Path:
    """``~`` expanded when it can be (``~nobody`` stays as written)."""
    try:
        return Path(spec).expanduser()
    except RuntimeError:
        return Path(spec)


#: A Hugging Face hub id: ``name`` or ``owner/name``.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.\-]{0,95})?$")


def _check_model_path(study_path: Path, spec: str) -> None:
    """``model.path`` is the bundled model, a model folder with ``config.json``, or a hub id (one
    that is in the local cache when the hub is offline), so the baseline does not fail on it."""
    from objectives.assets import BUILTIN_MODEL_SPEC

    field = "model.path"
    if spec.startswith(BUILTIN_PREFIX):
        if spec != BUILTIN_MODEL_SPEC:
            raise StudyFileError(
                study_path, field, spec, f"unknown bundled model; available: {BUILTIN_MODEL_SPEC}"
            )
        return
    folder = _expanded(spec)
    if _is_dir(folder):
        if not _is_file(folder / "config.json"):
            raise StudyFileError(
                study_path, field, spec, f"the folder {folder} has no config.json: not a model"
            )
        return
    if not _HUB_ID.match(spec) or spec.startswith((".", "~")):
        raise StudyFileError(
            study_path,
            field,
            spec,
            f"no such model folder ({_resolved(folder)}; relative to the working directory); give "
            f"a folder with config.json, a hub id, or {BUILTIN_MODEL_SPEC}",
        )
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false") and not _in_hub_cache(spec):
        raise StudyFileError(
            study_path,
            field,
            spec,
            "neither a model folder nor a hub id in the local Hugging Face cache, and "
            "HF_HUB_OFFLINE is set; give a folder with config.json or "
            f"{BUILTIN_MODEL_SPEC}",
        )


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an id the hub library rejects is not in the cache either
        return False


def resolve_eval_tasks(path: Path, spec: Study) -> dict[str, EvalTask]:
    """Each ``eval.tasks`` entry as the task lm-eval will run, checked now: task names resolve,
    metrics exist, folders and eval files are there and well formed, datasets are reachable."""
    folders = []
    several = len(spec.eval.include_path) > 1
    for i, folder in enumerate(spec.eval.include_path):
        resolved = _relative_to_study(path, folder)
        if not resolved.is_dir():
            raise StudyFileError(
                path,
                f"eval.include_path.{i}" if several else "eval.include_path",
                folder,
                f"no such folder ({resolved}); give a folder of lm-eval task YAML files",
            )
        folders.append(str(resolved))
    tasks = {}
    for metric, entry in spec.eval.tasks.items():
        field_prefix = f"eval.tasks.{metric}"
        try:
            tasks[metric] = _eval_task(path, entry, folders)
        except EvalTaskError as exc:
            if isinstance(entry, str):
                raise StudyFileError(path, field_prefix, exc.value, exc.valid) from None
            # A problem inside the eval file is shown with the file as the study names it.
            value = entry.file if exc.field == "file" else exc.value
            raise StudyFileError(path, f"{field_prefix}.{exc.field}", value, exc.valid) from None
    return tasks


def _eval_task(path: Path, entry: str | EvalTaskEntry, folders: list[str]) -> EvalTask:
    if isinstance(entry, str):
        return named_task(entry, include_paths=folders)
    options = TaskOptions(
        metric=entry.metric,
        num_fewshot=entry.num_fewshot,
        limit=entry.limit,
        chat_template=entry.chat_template,
        max_gen_toks=entry.max_gen_toks,
    )
    if entry.task is not None:
        return named_task(entry.task, options, include_paths=folders)
    assert entry.file is not None and entry.scorer is not None  # the schema's rule
    eval_file = _relative_to_study(path, entry.file)
    if not eval_file.is_file():
        raise EvalTaskError(
            "file", entry.file, f"no such file ({eval_file}); give a JSONL eval file"
        )
    return jsonl_task(eval_file, entry.scorer, entry.fields, entry.pattern, options)


def _relative_to_study(study_path: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (study_path.parent / candidate).resolve()


def _check_references(path: Path, spec: Study) -> None:
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
    _check_recipe_references(path, spec, catalog)
    if spec.projection.model is not None:
        from cost_models import model_shape

        try:
            model_shape(spec.projection.model)
        except CostModelError as exc:
            raise StudyFileError(
                path, "projection.model", spec.projection.model, str(exc)
            ) from None


def _check_recipe_references(path: Path, spec: Study, catalog: Any) -> None:
    """Searched instances and pricing models have prices; partners' data and folders exist."""
    from cost_models.errors import CostModelError

    def values(dim: Any, default: Any) -> list[Any]:
        if dim is None:
            return [default]
        return (
            list(dim.choices)
            if isinstance(dim, Choices)
            else [dim.value]
            if isinstance(dim, Fixed)
            else []
        )

    target = spec.hardware.target
    space = spec.search_space
    searched_instances = space.target_instance is not None
    offers = {}
    for name in values(space.target_instance, target.instance):
        try:
            offers[name] = catalog.offer(
                name,
                provider=None if searched_instances else target.provider,
                region=None if searched_instances else target.region,
            )
        except CostModelError as exc:
            raise StudyFileError(path, "search_space.target_instance", name, str(exc)) from None
    for name, offer in offers.items():
        for pricing in values(space.target_pricing, target.pricing):
            if offer.price_per_hour(pricing) is None:
                field = (
                    "search_space.target_pricing"
                    if space.target_pricing
                    else "hardware.target.pricing"
                )
                priced = [p for p in PRICING_MODELS if offer.price_per_hour(p) is not None]
                raise StudyFileError(
                    path,
                    field,
                    pricing,
                    f"the catalog has no {pricing} price for {offer.provider}/{name}; "
                    f"priced there: {', '.join(priced) or 'none'}",
                )
    if spec.serving is not None and spec.serving.instance is not None:
        try:
            offer = catalog.offer(
                spec.serving.instance, provider=spec.serving.provider, region=spec.serving.region
            )
        except CostModelError as exc:
            raise StudyFileError(
                path, "serving.instance", spec.serving.instance, str(exc)
            ) from None
        if offer.price_per_hour(spec.serving.pricing) is None:
            raise StudyFileError(
                path,
                "serving.pricing",
                spec.serving.pricing,
                f"the catalog has no {spec.serving.pricing} price for {spec.serving.instance}",
            )
    if spec.merge is not None:
        for i, partner in enumerate(spec.merge.partners):
            if partner.train is not None:
                partner_file = _resolve_data_file(path, f"merge.partners.{i}.train", partner.train)
                _check_train_data(partner_file, None)
            elif partner.path is not None:
                folder = Path(partner.path)
                if not folder.is_absolute():
                    folder = _resolved(path.parent / folder)
                if not _is_file(folder / "config.json"):
                    raise StudyFileError(
                        path,
                        f"merge.partners.{i}.path",
                        partner.path,
                        f"no model folder with config.json at {folder}",
                    )


def resolve_partner_train(study: LoadedStudy, partner: Any) -> Path:
    """The training file of a merge partner the study trains itself."""
    return _resolve_data_file(study.path, "merge.partners.train", partner.train)


def resolve_partner_path(study: LoadedStudy, partner: Any) -> Path:
    folder = Path(partner.path)
    return folder if folder.is_absolute() else (study.path.parent / folder).resolve()


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
        if part.isdigit():  # an item of a list field: same model
            continue
        field = model.model_fields.get(part)
        found = _model_in(getattr(field, "annotation", None))
        if found is None:
            return []
        model = found
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``, if any."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


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
