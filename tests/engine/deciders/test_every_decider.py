"""Every command with a decider has its rules written as a table here: a new decider without one fails this test."""

from __future__ import annotations

import ast
from pathlib import Path

from engine.deciders import DECIDERS

HERE = Path(__file__).parent


def names_used(source: str) -> set[str]:
    """The names a module uses (an import alone is no use)."""
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def test_names_used_leave_out_what_is_only_imported() -> None:
    assert names_used("from engine.commands import A, B\ncase = B(x=C)\n") == {"case", "B", "C"}


def test_every_decider_has_a_table_of_its_rules() -> None:
    used = set().union(*(names_used(path.read_text()) for path in sorted(HERE.glob("test_*.py"))
                         if path.name != Path(__file__).name))
    uncovered = sorted(cmd.__name__ for cmd in DECIDERS if cmd.__name__ not in used)
    assert uncovered == [], f"commands whose decider has no table in {HERE}: {', '.join(uncovered)}"
