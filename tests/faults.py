"""Real storage faults for tests: read-only folders and mounts, small file systems, damaged files.

Tests run as root here, where `chmod` does not stop writes. What does, and is used:
- a read-only folder: `chattr +i` (the immutable attribute; ext4 and most Linux file systems) as root,
  `chmod 0555` otherwise;
- a read-only mount: `unshare -rm` (a private mount namespace) with a read-only bind mount, around a
  subprocess, so nothing leaks into the machine's mounts;
- a full disk: a 3 MB tmpfs mounted on a folder of the test (root) and unmounted afterwards.
Each helper checks that the fault is real (a write really fails) and fails the test otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

RO_BIND = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def _refuses_writes(folder: Path) -> bool:
    probe = folder / ".chronicle-write-probe"
    try:
        probe.write_bytes(b"x")
    except OSError:
        return True
    probe.unlink()
    return False


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """Make `folder` refuse new files (immutable as root, no write permission otherwise)."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        if not _refuses_writes(folder):
            pytest.fail(f"could not make {folder} read-only here")
        yield folder
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def read_only_mount(folder: Path, argv: Sequence[str]) -> list[str]:
    """`argv` run with `folder` bind-mounted read-only over itself, in a private mount namespace."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for the read-only mount tests")
    return ["unshare", "-rm", "sh", "-c", RO_BIND, str(folder), *argv]


@contextlib.contextmanager
def small_file_system(folder: Path, size: str = "3m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` for the test (needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"mounting a {size} tmpfs needs root: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_up(folder: Path, leave: int = 0) -> Path:
    """Write a ballast file that leaves about `leave` bytes free on `folder`'s file system."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    ballast = folder / "ballast"
    with ballast.open("wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(0, free - leave))
    return ballast


def truncate_copy(source: Path, target: Path, share: float) -> Path:
    """A copy of a database file cut to `share` of its length."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * share)])
    return target


def random_file(target: Path, size: int = 64 * 1024) -> Path:
    """A file of random bytes."""
    target.write_bytes(os.urandom(size))
    return target


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """Make the file at `path` refuse writes (immutable as root, no write permission otherwise)."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)
    try:
        if os.access(path, os.W_OK):
            pytest.fail(f"could not make {path} read-only here")
        yield path
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o644)
