"""Taking a trial home: its LoRA adapter plus ``recipe.yaml`` (how to rebuild the merged or
quantized configuration from it), exported from the work cache (``_trial``) or logged to MLflow
with the recommended one registered as a model version (``_registry``)."""

from sweeper.handoff._recipe_file import (
    ADAPTER_DIR,
    RECIPE_FILE,
    MergeRebuild,
    RebuildRecipe,
    recipe_yaml,
)
from sweeper.handoff._registry import (
    ADAPTER_LOGGED_TAG,
    RegisteredWinner,
    log_winners,
    registered_model_name,
)
from sweeper.handoff._trial import (
    ExportError,
    adapter_folder,
    find_trial,
    missing_adapter_error,
    trial_recipe,
    write_export,
)

__all__ = [
    "ADAPTER_DIR",
    "ADAPTER_LOGGED_TAG",
    "RECIPE_FILE",
    "ExportError",
    "MergeRebuild",
    "RebuildRecipe",
    "RegisteredWinner",
    "adapter_folder",
    "find_trial",
    "log_winners",
    "missing_adapter_error",
    "recipe_yaml",
    "registered_model_name",
    "trial_recipe",
    "write_export",
]
