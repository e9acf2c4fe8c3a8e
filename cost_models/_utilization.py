"""How much of a GPU's peak a job really uses: sourced defaults, and calibration from runs.

Defaults live in ``data/utilization_defaults.csv`` (one row per method, ``*`` for any GPU, or a
GPU-specific row that wins), each with its source. For training and prefill the figure is model
FLOPs utilization (MFU: useful FLOPs / peak dense bf16 FLOPs); for decoding it is memory-bandwidth
utilization (MBU). A ``Calibration`` holds MFUs measured on real runs and takes precedence.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cost_models._estimate import training_flops_per_token
from cost_models._gpus import GpuSpec, gpu_spec
from cost_models._memory import TrainingMethod
from cost_models._names import normalize_name
from cost_models._tables import bundled_data_path, read_rows
from cost_models.errors import CatalogError, InvalidInputError, UnknownGpuError

UTILIZATION_COLUMNS = ("method", "gpu_model", "utilization", "source", "notes")
ANY_GPU = "*"


@dataclass(frozen=True)
class UtilizationDefault:
    method: str
    gpu_model: str
    utilization: float
    source: str
    notes: str


def utilization_defaults() -> tuple[UtilizationDefault, ...]:
    """The bundled default utilization table."""
    return _bundled_defaults()


def default_utilization(method: str, gpu_name: str) -> UtilizationDefault:
    """The default row for ``method`` on ``gpu_name``: a GPU-specific row, else the ``*`` row."""
    rows = [row for row in _bundled_defaults() if row.method == method]
    if not rows:
        methods = sorted({row.method for row in _bundled_defaults()})
        raise InvalidInputError(
            f"A utilization default exists for methods {', '.join(methods)}, but not for "
            f"{method!r}."
        )
    for row in rows:
        if normalize_name(row.gpu_model) == normalize_name(gpu_name):
            return row
    return next(row for row in rows if row.gpu_model == ANY_GPU)


def default_mfu(method: str, gpu_name: str) -> float:
    """Default model FLOPs utilization for ``method`` (lora, qlora, full, prefill) on a GPU."""
    return default_utilization(method, gpu_name).utilization


def default_mbu(gpu_name: str) -> float:
    """Default memory-bandwidth utilization of decoding on a GPU."""
    return default_utilization("decode", gpu_name).utilization


def measured_mfu(
    gpu: GpuSpec,
    method: TrainingMethod,
    measured_tokens_per_second: float,
    params: float,
    *,
    adapter_params: float = 0.0,
    num_gpus: int = 1,
) -> float:
    """MFU implied by a measured training throughput (tokens/s summed over ``num_gpus``)."""
    if not measured_tokens_per_second > 0:
        raise InvalidInputError(
            f"A measured throughput must be > 0 tokens/s, but got {measured_tokens_per_second!r}."
        )
    if num_gpus < 1:
        raise InvalidInputError(f"A GPU count must be >= 1, but got {num_gpus}.")
    flops_per_second = measured_tokens_per_second * training_flops_per_token(
        params, method, adapter_params
    )
    return flops_per_second / (gpu.peak_flops_per_second * num_gpus)


class Calibration(Mapping[str, float]):
    """Immutable map GPU name -> measured MFU (the median of its runs), with per-method detail.

    ``mfu(method, gpu)`` prefers runs of that method on that GPU, then any run on that GPU, then
    the sourced default. ``calibrated(...)`` returns a new Calibration with one more run.
    """

    def __init__(self, samples: Mapping[tuple[str, str], tuple[float, ...]] | None = None) -> None:
        self._samples: Mapping[tuple[str, str], tuple[float, ...]] = MappingProxyType(
            dict(samples or {})
        )

    def __getitem__(self, gpu: str) -> float:
        values = self._gpu_samples(gpu)
        if not values:
            raise KeyError(gpu)
        return statistics.median(values)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({gpu for gpu, _ in self._samples}))

    def __len__(self) -> int:
        return len({gpu for gpu, _ in self._samples})

    def __repr__(self) -> str:
        return f"Calibration({dict(self._samples)!r})"

    def runs(self, gpu: str, method: str | None = None) -> tuple[float, ...]:
        """The measured MFUs for ``gpu`` (of ``method`` only, when given)."""
        if method is None:
            return self._gpu_samples(gpu)
        return self._samples.get((_canonical_gpu(gpu), method), ())

    def mfu(self, method: str, gpu: str) -> float:
        """The MFU to plan with: measured for (gpu, method), else for gpu, else the default."""
        exact = self.runs(gpu, method)
        if exact:
            return statistics.median(exact)
        if gpu in self:
            return self[gpu]
        return default_mfu(method, gpu)

    def describe(self, method: str, gpu: str) -> str:
        """Where ``mfu(method, gpu)`` comes from, for reports."""
        exact = self.runs(gpu, method)
        if exact:
            return f"measured ({len(exact)} {method} run{'s' if len(exact) != 1 else ''})"
        if gpu in self:
            runs = self._gpu_samples(gpu)
            return f"measured ({len(runs)} run{'s' if len(runs) != 1 else ''} of other methods)"
        return f"default: {default_utilization(method, gpu).source}"

    def calibrated(
        self,
        gpu: str,
        method: TrainingMethod,
        measured_tokens_per_second: float,
        params: float,
        *,
        adapter_params: float = 0.0,
        num_gpus: int = 1,
        gpu_specs: Mapping[str, GpuSpec] | None = None,
    ) -> Calibration:
        """A new Calibration that also holds the MFU measured by one trial on ``gpu``."""
        spec = gpu_spec(gpu, dict(gpu_specs) if gpu_specs is not None else None)
        mfu = measured_mfu(
            spec,
            method,
            measured_tokens_per_second,
            params,
            adapter_params=adapter_params,
            num_gpus=num_gpus,
        )
        samples = dict(self._samples)
        key = (spec.name, method)
        samples[key] = samples.get(key, ()) + (mfu,)
        return Calibration(samples)

    def _gpu_samples(self, gpu: str) -> tuple[float, ...]:
        name = _canonical_gpu(gpu)
        return tuple(v for (g, _), values in self._samples.items() if g == name for v in values)


def _canonical_gpu(gpu: str) -> str:
    try:
        return gpu_spec(gpu).name
    except UnknownGpuError:
        return gpu


@functools.lru_cache(maxsize=1)
def _bundled_defaults() -> tuple[UtilizationDefault, ...]:
    rows = []
    seen: set[tuple[str, str]] = set()
    for row in read_rows(
        bundled_data_path("utilization_defaults.csv"),
        UTILIZATION_COLUMNS,
        table="utilization defaults",
    ):
        value = row.number("utilization", required=True) or 0.0
        if value > 1:
            raise row.fail("utilization", "must be a fraction of peak in (0, 1]")
        key = (row.text("method"), row.text("gpu_model"))
        if key in seen:
            raise row.fail("gpu_model", "must appear once per method")
        seen.add(key)
        rows.append(
            UtilizationDefault(
                key[0], key[1], value, row.text("source"), row.text("notes", required=False)
            )
        )
    methods = {r.method for r in rows}
    for method in methods:
        if (method, ANY_GPU) not in seen:
            raise CatalogError(
                f"The utilization defaults must have a '*' row for every method, but {method!r} "
                "has none."
            )
    return tuple(rows)
