"""Expensive files built once per test run and shared by its xdist workers.

A file is built by the first worker that asks for it (the others wait on a lock) into the run's base folder, which
pytest makes anew for every run; a test copies it before using it, so no test sees another's changes.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, filled by `build(folder)` the first time any worker of this run asks for it."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-of-<user>/pytest-<n>/: the run's folder, above each worker's own
    shared = root / "shared"
    shared.mkdir(exist_ok=True)
    done = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build raised
        if not done.is_dir():
            partial = shared / f"{name}.partial"
            partial.mkdir()
            build(partial)
            partial.rename(done)  # whole or not at all: a failed build is never taken for a built one
    return done
