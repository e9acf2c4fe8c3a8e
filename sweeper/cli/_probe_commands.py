"""``sweeper probe [--refresh]``: this machine's probe behind uncalibrated quotes, shown or
measured again."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict

import typer
from rich.console import Console

from sweeper import hardware_probe as probe
from sweeper.cli._apps import app
from sweeper.hardware_probe import ProbeConditions

console = Console(stderr=False)


@app.command("probe")
def probe_command(
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="Measure again now (a probe cached while the machine was busy stays wrong).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show this machine's measured speed and framework overhead (what an uncalibrated quote
    predicts trial seconds from), the load while they were measured, and where they are cached.
    Measures them when none is cached, or with --refresh."""
    cached = probe.cached_machine_speed() is not None and (
        probe.cached_framework_overhead() is not None
    )
    if refresh or not cached:
        from sweeper.quiet import quiet_libraries

        quiet_libraries()  # the overhead probe trains and evaluates: no progress bars here
    with warnings.catch_warnings():  # a busy probe is shown as BUSY below, with what to do
        warnings.simplefilter("ignore", RuntimeWarning)
        speed = probe.machine_speed(refresh=refresh)
        fw = probe.framework_overhead(refresh=refresh)
    source = "cached" if cached and not refresh else "measured now"
    files = [
        probe.cache_dir() / name
        for name in (probe.MACHINE_SPEED_FILE, probe.FRAMEWORK_OVERHEAD_FILE)
    ]
    if as_json:
        out = {
            "source": source,
            "machine_speed": asdict(speed),
            "framework_overhead": asdict(fw),
            "cache": [str(f) for f in files],
        }
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"[bold]machine probe[/] of {probe.machine_name()} ({source})")
    console.print(
        f"speed: {speed.matmul_tflops:.3f} TFLOP/s fp32 matmul, "
        f"{speed.memory_bandwidth_gb_s:.1f} GB/s memory bandwidth"
    )
    console.print(f"  load: {_conditions(speed.conditions)}")
    console.print(
        f"framework overhead: training set-up {fw.train_setup_s:.2f} s, per step "
        f"{1000 * fw.train_step_s:.1f} ms + {1000 * fw.train_layer_step_s:.1f} ms per layer; "
        f"forward pass {1000 * fw.forward_s:.1f} ms + {1000 * fw.forward_layer_s:.2f} ms per "
        f"layer; evaluation set-up {fw.eval_setup_s:.2f} s"
    )
    console.print(f"  load: {_conditions(fw.conditions)}")
    console.print("cache: " + ", ".join(str(f) for f in files), soft_wrap=True)
    if any(c is not None and c.busy for c in (speed.conditions, fw.conditions)):
        console.print(
            "[yellow]measured beside other work: uncalibrated quotes will be too slow; run "
            "`sweeper probe --refresh` again when the machine is quiet[/]"
        )


def _conditions(conditions: ProbeConditions | None) -> str:
    return conditions.describe() if conditions is not None else "not recorded"
