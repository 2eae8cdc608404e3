# make test : create .venv, install everything the tests need, run pytest and node --test.
# make demo : train the demo models, write runs to demo_logs/, serve TensorBoard on 127.0.0.1:6006.
#             Its own, smaller venv (.venv-demo: the package with Keras and tensorflow-cpu, no
#             test tools, no PyTorch or JAX); DEMO_VENV=.venv reuses the test venv instead.
# make demo-train (or make demo SERVE=0) : the same without serving.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(DEMO_VENV)/bin
PORT ?= 6006
LOGDIR ?= demo_logs
PYTEST_ARGS ?=

.PHONY: test venv demo-venv chromium pytest nodetest demo demo-train bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when setup.py changes. The backend tests also run Keras on JAX and PyTorch (CPU).
# TORCH pins the CPU build (a plain `torch` from PyPI is a multi-GB CUDA build).
TORCH ?= torch==2.13.0
$(VENV)/.installed: setup.py pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[tensorflow,test]"
	$(BIN)/python -m pip install -q "$(TORCH)" jax
	# torchmetrics / lightning against the torch above: the pin keeps pip from swapping it.
	$(BIN)/python -m pip install -q -e ".[torch,lightning,remote,test]" "$(TORCH)"
	$(BIN)/python -m pip check
	touch $@

venv: $(VENV)/.installed

# The demo needs Keras and TensorFlow only. (When DEMO_VENV is the test venv, the rule below
# adds nothing it lacks: `[tensorflow]` is part of what the tests install.)
ifneq ($(DEMO_VENV),$(VENV))
$(DEMO_BIN)/python:
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install -q --upgrade pip
endif

$(DEMO_VENV)/.demo-installed: setup.py pyproject.toml | $(DEMO_BIN)/python
	$(DEMO_BIN)/python -m pip install -q -e ".[tensorflow]"
	touch $@

demo-venv: $(DEMO_VENV)/.demo-installed

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "Chromium is missing: run 'sudo apt-get install chromium' (the browser tests need it)"; exit 1; fi

pytest: venv chromium
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)
	$(BIN)/python -m pytest -q -p no:cacheprovider --doctest-modules tb_metrics_plugin  # the docstrings' examples

nodetest:
	@if ls tests/js/*.test.mjs >/dev/null 2>&1; then node --test tests/js/; else echo "no node tests"; fi

test: pytest nodetest

demo-train: demo-venv
	$(DEMO_BIN)/python -m demo.train --logdir $(LOGDIR)

# SERVE=0 trains without serving (same as `make demo-train`).
SERVE ?= 1
demo: demo-train
ifeq ($(SERVE),1)
	@echo "Serving TensorBoard with both runs: http://127.0.0.1:$(PORT)/#tb_metrics  (Ctrl+C stops it)"
	$(DEMO_BIN)/tensorboard --logdir $(LOGDIR) --host 127.0.0.1 --port $(PORT) --samples_per_plugin=tb_metrics=0
endif

bench: venv
	$(BIN)/python benchmarks/bench_keras_metric.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) *.egg-info build dist .pytest_cache .hypothesis
