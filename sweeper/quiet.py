"""Keeping the terminal readable: the sweep's own progress, not every library's.

transformers, lm-eval and torchao print progress bars and import-time warnings for every trial;
``sweeper run`` hides them unless ``--verbose`` is given. Errors still show.
"""

from __future__ import annotations

import logging
import os
import warnings

NOISY_LOGGERS = (
    "lm_eval",
    "torchao",
    "torch",
    "transformers",
    "peft",
    "mlflow",
    "datasets",
    "accelerate",
    "alembic",
    "bitsandbytes",
)


def quiet_libraries() -> None:
    """Call before the libraries are imported (environment variables are read at import)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _silence_progress_bars()
    # torch configures its own loggers when imported (resetting their levels), and torchao logs
    # registration warnings through them at its import: import torch first, then quiet it.
    import mlflow  # noqa: F401  (same for mlflow's loggers: it sets them up at import)
    import torch  # noqa: F401

    for name in NOISY_LOGGERS + ("torch.utils._pytree",):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")


def _silence_progress_bars() -> None:
    """lm-eval passes ``disable=False`` to tqdm explicitly, which overrides ``TQDM_DISABLE``."""
    import tqdm

    original = tqdm.std.tqdm.__init__
    if getattr(original, "_sweeper_quiet", False):
        return

    def quiet_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    quiet_init._sweeper_quiet = True  # type: ignore[attr-defined]
    tqdm.std.tqdm.__init__ = quiet_init
