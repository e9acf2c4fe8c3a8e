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
)


def quiet_libraries() -> None:
    """Call before the libraries are imported (environment variables are read at import)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
