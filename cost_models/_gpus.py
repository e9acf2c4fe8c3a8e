"""The GPU spec table (``data/gpus.csv``): dense tensor FLOP/s, memory, bandwidth, launch year."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from cost_models._names import resolve_name
from cost_models._tables import bundled_data_path, read_rows
from cost_models.errors import CatalogError, GpuSpecError, UnknownGpuError

GPU_SPEC_COLUMNS = (
    "name",
    "bf16_tflops",
    "int8_tops",
    "memory_gib",
    "bandwidth_tb_s",
    "launch_year",
    "source",
    "power_w",
    "notes",
)


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model. Throughput is dense (no sparsity); None where no source gives the figure."""

    name: str
    bf16_tflops: float | None
    int8_tops: float | None
    memory_gib: float
    bandwidth_tb_s: float | None
    launch_year: int | None
    source: str
    power_w: float | None = None
    notes: str = ""

    @property
    def peak_flops_per_second(self) -> float:
        """Dense bf16/fp16 tensor FLOP/s; raise when the spec table has no figure."""
        if self.bf16_tflops is None:
            raise GpuSpecError(
                f"A bf16 TFLOP/s figure is needed to time compute on {self.name}, but the GPU spec "
                f"table has none ({self.notes or 'no source gives it'})."
            )
        return self.bf16_tflops * 1e12

    @property
    def bandwidth_bytes_per_second(self) -> float:
        """Memory bandwidth in bytes/s; raise when the spec table has no figure."""
        if self.bandwidth_tb_s is None:
            raise GpuSpecError(
                f"A memory bandwidth figure is needed to time decoding on {self.name}, but the GPU "
                f"spec table has none ({self.notes or 'no source gives it'})."
            )
        return self.bandwidth_tb_s * 1e12


def load_gpu_specs(path: str | Path | None = None) -> dict[str, GpuSpec]:
    """GPU specs by name: the bundled table, or the CSV at ``path``."""
    if path is None:
        return dict(_bundled_specs())
    return _read_specs(Path(path))


def gpu_spec(name: str, specs: dict[str, GpuSpec] | None = None) -> GpuSpec:
    """The spec of GPU ``name`` (case and separators ignored); "Did you mean" when unknown."""
    table = specs if specs is not None else _bundled_specs()
    return table[resolve_name(name, table, UnknownGpuError)]


@functools.lru_cache(maxsize=1)
def _bundled_specs() -> dict[str, GpuSpec]:
    return _read_specs(bundled_data_path("gpus.csv"))


def _read_specs(path: Path) -> dict[str, GpuSpec]:
    specs: dict[str, GpuSpec] = {}
    for row in read_rows(path, GPU_SPEC_COLUMNS, table="GPU spec"):
        name = row.text("name")
        if name in specs:
            raise row.fail("name", "must be unique in the table")
        year = row.integer("launch_year", required=False)
        spec = GpuSpec(
            name=name,
            bf16_tflops=row.number("bf16_tflops", required=False),
            int8_tops=row.number("int8_tops", required=False),
            memory_gib=row.number("memory_gib", required=True) or 0.0,
            bandwidth_tb_s=row.number("bandwidth_tb_s", required=False),
            launch_year=year,
            source=row.text("source"),
            power_w=row.number("power_w", required=False),
            notes=row.text("notes", required=False),
        )
        if (spec.bf16_tflops is None or spec.bandwidth_tb_s is None) and not spec.notes:
            raise row.fail("notes", "must say why a figure is missing when one is empty")
        specs[name] = spec
    if not specs:
        raise CatalogError(f"A GPU spec file must list at least one GPU, but {path.name} has none.")
    return specs
