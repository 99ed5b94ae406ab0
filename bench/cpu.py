"""What a measurement cost in CPU: a PostgreSQL server's (its postmaster and every backend) and the whole machine's,
sampled from /proc (Linux) while the measured processes run, so that a throughput figure on shared cores says whether
the machine, rather than a lock, was the limit. Elsewhere the figures are NaN."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
Sample = tuple[float, float, float, float]  # (wall clock, server CPU s, machine busy CPU s, machine total CPU s)


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (field 3, the state, first); [] when the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2:].split()


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (the kernel's list when it keeps one, else a scan of /proc)."""
    try:
        listed = (PROC / str(pid) / "task" / str(pid) / "children").read_text().split()
        return [int(child) for child in listed]
    except OSError:
        pass
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def server_seconds(postmaster: int) -> float:
    """CPU seconds a server has used so far: the postmaster's own and its ended children's, and its live children's."""
    fields = _stat_fields(postmaster)
    if not fields:
        return math.nan
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for child in _children(postmaster):
        if child_fields := _stat_fields(child):
            total += int(child_fields[11]) + int(child_fields[12])
    return total / TICKS


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of every core since boot (idle and iowait are not busy)."""
    try:
        values = [float(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return math.nan, math.nan
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def postmaster_of(data_dir: Path) -> int | None:
    """The server's postmaster pid, from its data directory (None when it can't be read)."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CpuSampler:
    """Samples a server's and the machine's CPU in a thread while in a `with`; `between` gives the cores used."""

    def __init__(self, postmaster: int | None, every: float = 0.1) -> None:
        self._postmaster, self._every = postmaster, every
        self._samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)

    def _sample(self) -> None:
        server = server_seconds(self._postmaster) if self._postmaster is not None else math.nan
        busy, total = machine_seconds()
        self._samples.append((time.time(), server, busy, total))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def between(self, start: float, end: float) -> tuple[float, float]:
        """(server cores, machine busy cores) used from `start` to `end` (wall clock), measured between the samples
        just around them (the sampler's own first and last enclose everything run inside its `with`)."""
        first = max((s for s in self._samples if s[0] <= start), key=lambda s: s[0], default=self._samples[0])
        last = min((s for s in self._samples if s[0] >= end), key=lambda s: s[0], default=self._samples[-1])
        if last[0] <= first[0] or last[3] <= first[3]:
            return math.nan, math.nan
        cores = os.cpu_count() or 1
        return (last[1] - first[1]) / (last[0] - first[0]), (last[2] - first[2]) / (last[3] - first[3]) * cores
