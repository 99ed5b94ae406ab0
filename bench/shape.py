"""The shape of the code, counted: how many places spell one action, how many spell each bound, the Engine's public
surface, the project functions one Discord message passes through, and import cycles.

    python -m bench.shape            # prints one JSON object

Run it on two commits (a `git worktree` of the older one) to compare before and after a refactor.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("engine", "bot")
TIME_SKIP = re.compile(r"(?i)skip[_ ]?time|time[_ ]?skip")  # any mention: names, methods, strings, comments
# What declares or handles the action itself: its command model, a method named for it, its event, the path.
TIME_SKIP_ACTION = re.compile(r"SkipTime|TimeSkip(?:ped|Elision)|skip_time|time skip|time_skip_elision|time_skip")
# Each bound: the option it limits and its upper value as written in the code (any of these spellings).
BOUNDS = {
    "rewind messages 1-10,000": ("messages", ("10_000)", "10_000,", "10000)", "10000,", "10,000")),
    "memory importance 1-10": ("importance", ("10)", "le=10", ", 10]", "10 ", "_MAX = 10")),
    "relationship affinity ±200": ("affinity", ("200",)),
    "chat start greeting 1-1,000": ("greeting", ("1_000", "1000", "1,000")),
}


def _py_files() -> list[Path]:
    return [p for top in SOURCES for p in sorted((ROOT / top).rglob("*.py"))]


def _code_tokens(path: Path) -> set[str]:
    """The names and non-docstring strings a module's code uses (imports, `__all__` and docstrings left out)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) or (
                isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)):
            skipped.update(id(child) for child in ast.walk(node))
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skipped.add(id(first.value))  # a docstring
    tokens: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Name):
            tokens.add(node.id)
        elif isinstance(node, ast.Attribute):
            tokens.add(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            tokens.add(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            tokens.add(node.value)
    return tokens


def _uses_only(path: Path) -> bool:
    """Whether a module only uses the action, as any client would: it builds the command to perform it
    (`SkipTime(...)`) or shows its name as a label (`label="time skip"`), and declares or handles nothing."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    used: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            used.add(id(node.func))
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant):
            used.add(id(node.value))
    for node in ast.walk(tree):
        if id(node) in used or isinstance(node, ast.Import | ast.ImportFrom):
            continue
        token = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            token = node.value
        if isinstance(token, str) and TIME_SKIP_ACTION.fullmatch(token) and not isinstance(node, ast.alias):
            return False
    return True


def action_places() -> dict[str, Any]:
    """Files under engine/ and bot/ that mention /time skip at all, and those whose code (not their imports,
    re-exports or docstrings) spells the action: its command model, a method named for it, its event or event
    kind, its path; and of those, the ones that declare or handle it (not only perform it or show its name)."""
    texts = {str(p.relative_to(ROOT)): p for p in _py_files()}
    mentions = [name for name, path in texts.items() if TIME_SKIP.search(path.read_text(encoding="utf-8"))]
    action = [name for name, path in texts.items()
              if any(TIME_SKIP_ACTION.fullmatch(token) for token in _code_tokens(path))]
    declaring = [name for name in action if not _uses_only(texts[name])]
    return {"count": len(mentions), "files": mentions, "action_count": len(action), "action_files": action,
            "declaring_count": len(declaring), "declaring_files": declaring}


def bound_places() -> dict[str, Any]:
    """For each bound: the lines that spell its upper value next to its option's name."""
    out: dict[str, Any] = {}
    for label, (option, spellings) in BOUNDS.items():
        lines = []
        for path in _py_files():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if option in line.lower() and any(s in line for s in spellings) and not line.lstrip().startswith("#"):
                    lines.append(f"{path.relative_to(ROOT)}:{number}")
        out[label] = {"count": len(lines), "lines": lines}
    return out


def engine_surface() -> dict[str, Any]:
    """The Engine's public methods and its base classes."""
    from engine import Engine

    public = sorted(name for name, value in inspect.getmembers(Engine)
                    if not name.startswith("_") and (callable(value) or isinstance(value, property)))
    bases = [cls.__qualname__ for cls in Engine.__mro__[1:] if cls is not object]
    return {"public_methods": len(public), "bases": bases}


def import_cycles() -> list[list[str]]:
    """Groups of engine/ and bot/ modules that import each other at run time (imports inside functions count;
    imports under `if TYPE_CHECKING:` and a module's own parent packages don't)."""
    import ast

    def name_of(path: Path) -> str:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def imported(node: ast.AST, here: str, package: bool, found: set[str]) -> set[str]:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                imported(branch, here, package, found)
            return found
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".") if package else here.split(".")[:-1]
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            imported(child, here, package, found)
        return found

    modules = {name_of(p): p for p in _py_files()}
    graph = {}
    for name, path in modules.items():
        raw = imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", set())
        graph[name] = {m for m in raw if m in modules and m != name and not name.startswith(m + ".")}
    return _strongly_connected(graph)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return sorted(out)


class _Tracer:
    """Project functions entered while `active` (every thread that exists or starts while installed)."""

    def __init__(self) -> None:
        self.active = False
        self.seen: set[tuple[str, str]] = set()
        self.prefixes = tuple(str(ROOT / top) + "/" for top in SOURCES)

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and self.active:
            filename = frame.f_code.co_filename
            if filename.startswith(self.prefixes):
                module = str(Path(filename).relative_to(ROOT).with_suffix(""))
                self.seen.add((module, frame.f_code.co_qualname))


async def _one_message(tracer: _Tracer) -> None:
    import importlib  # the test harness (not type-checked with bench/)

    start_chronicle = importlib.import_module("tests.bot.conftest").start_chronicle
    FakeDiscord = importlib.import_module("tests.fakes.discord").FakeDiscord
    FakeLLMServer = importlib.import_module("tests.fakes.llm_server").FakeLLMServer

    async with FakeDiscord() as fd, FakeLLMServer() as llm:
        fd.add_default_world()
        with fd.patch_discord(), tempfile.TemporaryDirectory() as folder:
            async with start_chronicle(fd, llm, Path(folder) / "hops.db") as chronicle:
                await chronicle.start_story()
                llm.enqueue_text("Well met.", chunks=2)
                await chronicle.settle()
                tracer.active = True
                await chronicle.say(fd.world.admin, "Hello Aria!")
                tracer.active = False


def hops() -> dict[str, Any]:
    """Project functions and modules one person's line passes through, from MESSAGE_CREATE to the reply recorded
    with its buttons (the real bot against the loopback fake Discord and model)."""
    tracer = _Tracer()
    sys.setprofile(tracer)
    threading.setprofile(tracer)
    try:
        asyncio.run(_one_message(tracer))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    modules = sorted({module for module, _ in tracer.seen})
    return {"functions": len(tracer.seen), "modules": len(modules), "module_list": modules}


def main() -> None:
    """Print every figure as one JSON object."""
    import structlog

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    sys.path.insert(0, str(ROOT))
    report = {"time_skip_places": action_places(), "bounds": bound_places(), "engine": engine_surface(),
              "import_cycles": import_cycles(), "hops": hops()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
