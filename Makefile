# Every target sets up its own virtual environment: on a fresh machine `make demo` and
# `make test` are the only commands needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench soak compare clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ner]'
	touch $(STAMP)

install: $(STAMP)

# One BLAS thread: as fast as two on a quiet 2-core machine for these matrix sizes, and several
# times faster when other processes share the cores (measured, README).
demo: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/deltagrad ner train

# Bytecode kept even where the environment sets PYTHONDONTWRITEBYTECODE: each `python -m
# deltagrad` subprocess of the tests otherwise compiles all of src (0.85 against 0.23 CPU s).
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	# PyTorch's own OpInfo samples (needs torch and expecttest, which .ci/run installs)
	if $(BIN)/python -c "import torch, expecttest" 2>/dev/null; then \
	    $(BIN)/python benchmarks/opinfo_overhead.py; \
	else echo "opinfo_overhead.py skipped: PyTorch or expecttest missing"; fi

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak -p no:cacheprovider

compare: $(STAMP)
	$(BIN)/deltagrad ner compare

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache
