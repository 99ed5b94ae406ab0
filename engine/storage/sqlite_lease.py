"""A reproject's lease on a SQLite file: an OS lock on `<file>-reproject.lock`, a file beside the database.

A reproject builds its copies (`<table>__next`) inside the database, over many transactions. Whether copies
found there are a running reproject's work or the leftovers of a dead one is decided by this lock, never by
the tables existing: the reproject holds it (`flock`, exclusive) from its first transaction to its last, and
a process opening the database drops leftovers only when it can take the lock itself. The kernel releases
a flock when the process holding it ends, however it ends (SIGKILL, a crash), so a lock nobody holds means
nobody is reprojecting.

The file holds the pid of its latest holder (for the line naming who a second reproject waits for) and is
never removed: removing a lock file another process may be opening would let two processes each lock a file
of their own. A reproject checks in each of its transactions that the file at the path is still the one it
locked (`hold`), so even a lock file removed by hand stops it before it writes again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from engine.errors import ReprojectInterrupted

LOCK_SUFFIX = "-reproject.lock"


def lock_path(database: Path) -> Path:
    """The lock file of a database file (`world.db` → `world.db-reproject.lock`)."""
    return database.with_name(database.name + LOCK_SUFFIX)


class FileLease:
    """The reproject lock of one database file, taken without waiting and held until `release`."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def try_take(self) -> bool:
        """Take the lock if no other holder has it (never waits); True when this lease now holds it."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        with contextlib.suppress(OSError):  # a lock file we may only read still locks; the pid is a courtesy
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return True

    def _open(self) -> int:
        """The lock file, created with the database's permissions (as SQLite makes its -wal and -shm files)."""
        try:
            mode = stat.S_IMODE(self.database.stat().st_mode) & 0o666
        except OSError:
            mode = 0o644
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, mode)
        except PermissionError:  # another user's lock file: flock needs no write access
            return os.open(self.path, os.O_RDONLY)

    def holder(self) -> str:
        """Who holds the lock, as the file says ("pid 1234"), for a line telling a waiting person."""
        try:
            pid = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            pid = ""
        return f"pid {pid}" if pid.isdigit() else "another process"

    def hold(self) -> None:
        """Raise ReprojectInterrupted unless this lease still holds the lock of the file at its path."""
        if self._fd is None:
            raise ReprojectInterrupted(f"the reproject does not hold {self.path}")
        mine = os.fstat(self._fd)
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            there = None
        if there is None or (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino):
            raise ReprojectInterrupted(f"the reproject's lock file {self.path} was removed while it ran; it stopped "
                                       "and the live world is unchanged: run it again")

    def release(self) -> None:
        """Let the lock go (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
