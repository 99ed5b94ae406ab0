"""The code-health gate: `make test` runs ruff and mypy first, and their configuration catches what it should."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    """The tool installed beside this Python (the venv's), else on PATH."""
    local = BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def test_make_test_runs_the_lint_and_type_gate_before_the_suite():
    planned = subprocess.run(["make", "-n", "-W", "pyproject.toml", "test"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    lines = [line.strip() for line in planned.splitlines()]
    ruff = next(i for i, line in enumerate(lines) if line.endswith("ruff check ."))
    mypy = next(i for i, line in enumerate(lines) if line.endswith("bin/mypy"))
    pytest = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert ruff < mypy < pytest


def test_ruff_fails_on_an_unused_import_and_unsorted_imports(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport json\n\nprint(json.dumps([]))\n")
    result = subprocess.run([_tool("ruff"), "check", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "F401" in result.stdout and "I001" in result.stdout


def test_mypy_is_strict_for_the_engine_and_normal_elsewhere(tmp_path: Path):
    for package in ("engine", "bot"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "sample.py").write_text("def untyped(x):\n    return x\n\n\nn: int = 'text'\n")
    result = subprocess.run([_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental",
                             "engine/sample.py", "bot/sample.py"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert any(e.startswith("engine/sample.py:1:") and "[no-untyped-def]" in e for e in errors), errors
    assert not any(e.startswith("bot/sample.py:1:") for e in errors), errors  # untyped defs are fine outside
    assert sum("[assignment]" in e for e in errors) == 2  # a wrong type is an error everywhere
