#!/usr/bin/env bash
# The CLI's usage-error tests (tests/sweeper/cli/test_usage_errors.py) against typers other than
# the locked one, each installed on its own into a temporary folder put first on PYTHONPATH:
#   - the newest typer and click on the package index (what a user's unlocked install gets);
#   - typer 0.25.1, the last typer that uses the separate click package (0.26+ vendor their own
#     copy as typer._click, with other exception classes: sweeper/cli/_usage_errors.py).
# Needs the package index (PyPI). Usage: bash scripts/cli_compat.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

for spec in "typer click" "typer==0.25.1"; do
  dir="$work/$(echo "$spec" | tr -c 'a-z0-9.\n' '_')"
  # --no-deps: everything else stays the locked set of the venv.
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --upgrade --target "$dir" $spec
  versions=$(PYTHONPATH="$dir" "$PY" -c \
    'import importlib.metadata as m; print("typer", m.version("typer"), "click", m.version("click"))')
  echo "cli_compat: usage-error tests with $versions"
  PYTHONPATH="$dir${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q -p no:cacheprovider \
    tests/sweeper/cli/test_usage_errors.py
done
