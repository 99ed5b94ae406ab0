"""Shared pieces of the suite: quiet logging, statistics, run settings, and result tables."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog


def quiet() -> None:
    """Drop the engine's info logs (one line per event would dominate every figure)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@dataclass(frozen=True)
class Settings:
    """How big and how long: `full` for `make bench`, `quick` for the smoke test."""

    quick: bool
    runs: int
    sizes: dict[str, tuple[int, int]]  # label -> (chats, messages per chat) for demo-data
    commands: int  # timed commands per run (section 1)
    predecessor_requests: int
    es_commands: int
    raw_events: int
    concurrency_chats: int
    concurrency_messages: int
    prompt_sizes: tuple[int, int] = (100, 100_000)
    prompt_memories: int = 10_000
    prompt_samples: int = 200
    reply_samples: int = 100
    workdir: Path = Path("/tmp")
    cache: Path = Path("/tmp")


def settings(quick: bool, workdir: Path, cache: Path) -> Settings:
    """The suite's sizes: the issue's for a full run, tiny ones for `--quick`."""
    if quick:
        return Settings(quick=True, runs=2, sizes={"1k": (1, 60), "10k": (2, 60), "100k": (3, 60), "1M": (4, 60)},
                        commands=20, predecessor_requests=1, es_commands=20, raw_events=200,
                        concurrency_chats=10, concurrency_messages=3, prompt_sizes=(20, 200), prompt_memories=50,
                        prompt_samples=10, reply_samples=5, workdir=workdir, cache=cache)
    # demo-data writes about 1.14 events per message: these give ~1k, ~10k, ~100k and ~1M events.
    return Settings(quick=False, runs=5, sizes={"1k": (1, 860), "10k": (5, 1_980), "100k": (44, 2_000),
                                                "1M": (439, 2_000)},
                    commands=2_000, predecessor_requests=3, es_commands=2_000, raw_events=20_000,
                    concurrency_chats=100, concurrency_messages=20, workdir=workdir, cache=cache)


@dataclass
class Figure:
    """One measured quantity over several runs."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        """Record one run's value."""
        self.values.append(value)

    @property
    def median(self) -> float:
        """The median over runs."""
        return statistics.median(self.values)

    def fmt(self, unit: str = "", digits: int = 0, scale: float = 1.0) -> str:
        """`median (min–max)` with a unit."""
        m, lo, hi = (v * scale for v in (self.median, min(self.values), max(self.values)))
        return f"{m:,.{digits}f}{unit} ({lo:,.{digits}f}–{hi:,.{digits}f})"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass
class Table:
    """A result table: a title, column names and rows of cells."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The table as GitHub markdown."""
        out = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
               "|" + "|".join("---" for _ in self.columns) + "|"]
        out += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            out += [""] + self.notes
        return "\n".join(out) + "\n"

    def text(self) -> str:
        """The table for a terminal."""
        widths = [max(len(str(c)) for c in col) for col in zip(self.columns, *self.rows, strict=True)]
        line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
        return "\n".join([f"== {self.title}", line(self.columns), *(line(r) for r in self.rows)])


@dataclass(frozen=True)
class Target:
    """One of the issue's targets and whether this run met it."""

    text: str
    measured: str
    met: bool | None  # None: not measured in this run
    why: str = ""


def copy_db(src: Path, dst: Path) -> Path:
    """Copy a (checkpointed) database file; -wal/-shm files of the destination are removed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


def remove_db(path: Path) -> None:
    """Delete a database file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build_db(work: Path, path: Path, fill: Callable[[Any], Awaitable[None]], **options: Any) -> Path:
    """Write a story database through the engine at `work` (`fill(engine)`), then move it to `path` (the engine's
    close checkpoints the WAL, so the file alone is the database)."""
    from engine import Engine

    async def build() -> None:
        engine = await Engine.open(work, **options)
        try:
            await fill(engine)
        finally:
            await engine.close()

    asyncio.run(build())
    copy_db(work, path)
    remove_db(work)
    return path


def ratio(a: float, b: float) -> float:
    """a / b, guarding b = 0."""
    return a / b if b else float("inf")


def env_flag(name: str) -> bool:
    """True when an environment variable is set to 1/true/yes."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def events_source() -> bytes:
    """The source of every event payload module: part of a cached database's key (a changed payload rebuilds)."""
    folder = Path(__file__).resolve().parent.parent / "engine" / "events"
    return b"".join(path.read_bytes() for path in sorted(folder.glob("*.py")))
