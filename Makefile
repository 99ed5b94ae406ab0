# Chronicle — `make run` starts it, `make test` runs the suite. Both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench soak lock clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Chronicle needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

LOCK   := requirements/dev.txt

# Installs exactly what the lock pins, checked against its hashes; Chronicle itself goes in editable, without
# resolving anything again. `make lock` refreshes the locks from pyproject.toml on purpose.
$(STAMP): pyproject.toml $(LOCK) | $(PY)
	@echo "Installing Chronicle into $(VENV). The first install builds llama-cpp-python for the bundled"
	@echo "demo model from source: about 3 minutes on 2 cores (later installs reuse pip's cache)."
	$(PY) -m pip install --require-hashes -r $(LOCK)
	$(PY) -m pip install --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: install
	@if [ -n "$$DISCORD_TOKEN" ]; then $(VENV)/bin/chronicle run; else $(VENV)/bin/chronicle console; fi

# Three workers (pytest-xdist): most tests wait on subprocesses, servers and sockets, so three keep two cores busier
# than two do; -n 4 was no faster on a shared machine (load average 4 to 6) and a disk-full test failed once with it.
test: install lint
	$(PY) -m pytest -q -n 3

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

# The locks: dev.txt (everything make install puts in .venv), run.txt and run-local.txt (the Dockerfile's,
# without and with the bundled model). Hashes for every file; pip-tools is installed into .venv to do it.
lock: | $(PY)
	$(PY) -m pip install --quiet 'pip-tools>=7.4'
	$(VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		--no-emit-index-url --extra local --extra test --extra bench -o requirements/dev.txt pyproject.toml
	$(VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		--no-emit-index-url -o requirements/run.txt pyproject.toml
	$(VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		--no-emit-index-url --extra local -o requirements/run-local.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
