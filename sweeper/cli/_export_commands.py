"""``sweeper export``: a trial's LoRA adapter and its ``recipe.yaml``, from the work cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sweeper.cli._apps import app
from sweeper.cli._study_commands import StorageOpt, StudyArg

console = Console(stderr=False)


@app.command("export")
def export_command(
    trial: Annotated[
        int, typer.Option("--trial", min=0, help="The trial number (`sweeper show`).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write adapter/ and recipe.yaml into.")
    ],
    study: str = StudyArg,
    storage: str | None = StorageOpt,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache", help="The work cache (default: $SWEEPER_WORK_CACHE or ./.sweeper-cache)."
        ),
    ] = None,
) -> None:
    """Write a trial's LoRA adapter (peft folder) and how to rebuild its recipe from it."""
    from objectives import resolve_model_path
    from sweeper.handoff import (
        adapter_folder,
        find_trial,
        missing_adapter_error,
        trial_recipe,
        write_export,
    )
    from sweeper.recipe import WorkCache, default_cache_dir
    from sweeper.storage import default_storage_url, load_existing_study
    from sweeper.study import load_study

    loaded = load_study(study)
    st = load_existing_study(loaded.name, storage or default_storage_url())
    frozen = find_trial(st, trial, loaded.path)
    cache = WorkCache(cache_dir or loaded.spec.cache_dir or default_cache_dir())
    folder = adapter_folder(loaded, frozen, cache, resolve_model_path(loaded.spec.model.path))
    if folder is None:
        raise missing_adapter_error(loaded.path, trial, cache)
    write_export(trial_recipe(loaded, frozen), folder, out)
    console.print(f"trial {trial}: {out / 'adapter'} and {out / 'recipe.yaml'}", markup=False)
