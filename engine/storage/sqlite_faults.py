"""SQLite storage faults as one line each: what is wrong with which file, and what to do.

`classify` turns a sqlite3 or OS error into a StorageError (or None when the error is not a storage
fault, such as a constraint violation, which the engine handles itself). `inspect_file` looks at a
database file's header before SQLite opens it for writing, so a file that is not a database or was
cut short is refused without being touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

from engine.errors import StorageError

HEADER = b"SQLite format 3\x00"
WAL_HEADER = 32  # bytes before a WAL's first frame
_FAULT_PREFIXES = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT",
                   "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_NOLFS")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DENIED_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def is_fault(exc: BaseException) -> bool:
    """Whether a sqlite3 error is about the storage (disk, file, lock) rather than the data written."""
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(_FAULT_PREFIXES)
    text = str(exc).lower()
    return isinstance(exc, sqlite3.Error) and any(s in text for s in (
        "disk is full", "readonly database", "unable to open", "not a database", "malformed", "is locked",
        "disk i/o error"))


def free_bytes(path: Path) -> int:
    """Bytes free for an unprivileged writer on the file system holding `path` (a large number if unknown)."""
    try:
        stat = os.statvfs(_existing_dir(path))
    except OSError:
        return 1 << 62
    return stat.f_bavail * stat.f_frsize


def _existing_dir(path: Path) -> Path:
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _why_unwritable(folder: Path) -> str:
    """Why a folder can't be written: a read-only file system, or the folder itself."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the file system holding {folder} is mounted read-only"
    except OSError:
        pass
    return f"the folder {folder} is read-only (its permissions or attributes forbid writing)"


def unwritable(path: Path, *, new: bool) -> StorageError:
    """A database (new or existing) in a place Chronicle can't write."""
    why = _why_unwritable(_existing_dir(path))
    if new:
        text = (f"can't create the database {path}: {why}. Point CHRONICLE_DATABASE (or --database) at a "
                "writable folder, or make this one writable.")
    else:
        text = (f"can't write the database {path}: {why}. Chronicle writes the file and its -wal and -shm files "
                "beside it: make the folder writable, or point CHRONICLE_DATABASE at a copy in a writable folder.")
    return StorageError(text, kind="unwritable", path=str(path))


def no_folder(path: Path, error: OSError) -> StorageError:
    """The database's folder does not exist and can't be made."""
    reason = error.strerror or type(error).__name__
    return StorageError(f"can't create the folder {path.parent} for the database {path} ({reason}): create it "
                        "yourself, or point CHRONICLE_DATABASE (or --database) at another place.",
                        kind="no_folder", path=str(path))


def not_a_database(path: Path) -> StorageError:
    """A file that is not an SQLite database at all."""
    return StorageError(f"{path} is not a Chronicle database (it does not start like an SQLite file). Point "
                        "CHRONICLE_DATABASE (or --database) at the right file, or move this one away to start a new "
                        "world.", kind="not_a_database", path=str(path))


def corrupt(path: Path, detail: str) -> StorageError:
    """A damaged database: never written to again by this process."""
    return StorageError(f"the database {path} is damaged ({detail}), so Chronicle will not write to it. Restore it "
                        f"from a backup; `chronicle check --database {path}` shows what it found.",
                        kind="corrupt", path=str(path))


def disk_full(path: Path) -> StorageError:
    """No room left on the disk."""
    free = free_bytes(path)
    left = f"{free // 1024:,} KB free" if free < 1 << 40 else "no room"
    return StorageError(f"the disk holding {path} is full ({left}): nothing more can be recorded until space is "
                        "freed. Free some space; Chronicle carries on by itself, and nothing recorded so far is lost.",
                        kind="full", path=str(path))


def replaced(path: Path) -> StorageError:
    """The file this process opened is no longer at its path (deleted, moved away, or another file put there)."""
    return StorageError(f"the database file {path} was deleted or replaced while Chronicle was running; nothing more "
                        "is recorded. Restore it from a backup or restart Chronicle.", kind="gone", path=str(path))


def missing(path: Path) -> StorageError:
    """A command that only reads was pointed at a file that does not exist (it never creates one)."""
    return StorageError(f"no database at {path}; check --database (or CHRONICLE_DATABASE).", kind="missing",
                        path=str(path))


def file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`, or None when nothing is there."""
    try:
        found = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return found.st_dev, found.st_ino


def side_files(path: Path) -> dict[Path, tuple[int, int] | None]:
    """The database's -wal and -shm files with their (device, inode) now (None: not there)."""
    sides = (Path(f"{path}-wal"), Path(f"{path}-shm"))
    return {side: file_identity(side) for side in sides}


def drop_side_files(opened: dict[Path, tuple[int, int] | None]) -> None:
    """Remove the -wal and -shm files this process opened, if still the same files: after the database file was
    deleted or replaced, a -wal left beside its path would be replayed into whatever file is put there next (a
    restored backup), mixing pages of two databases."""
    for side, identity in opened.items():
        if identity is not None and file_identity(side) == identity:
            with contextlib.suppress(OSError):
                side.unlink()


def locked(path: Path) -> StorageError:
    """Another program holds the database's write lock for too long."""
    return StorageError(f"the database {path} stayed locked by another program: stop the other Chronicle "
                        "process or tool using this file, then try again.", kind="locked", path=str(path))


def classify(exc: BaseException, path: Path, *, new: bool = False) -> StorageError | None:
    """The StorageError for a sqlite3 or OS error, or None when it is not a storage fault."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        if exc.errno in _FULL_ERRNOS:
            return disk_full(path)
        if exc.errno in _DENIED_ERRNOS:
            return unwritable(path, new=new)
        return StorageError(f"can't use the database {path} ({exc.strerror or exc}): check the path and the disk.",
                            kind="io", path=str(path))
    if not isinstance(exc, sqlite3.Error) or not is_fault(exc):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return disk_full(path)
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or "readonly" in text:
        return unwritable(path, new=new or not path.exists())
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return not_a_database(path)
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return corrupt(path, f"SQLite: {text}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return locked(path)
    if name == "SQLITE_IOERR_SHORT_READ":
        return corrupt(path, "the file is shorter than its contents say")
    return StorageError(f"reading or writing the database {path} failed (SQLite: {text}): check the disk and the "
                        "file, then try again.", kind="io", path=str(path))


def inspect_file(path: Path) -> StorageError | None:
    """Refuse a file that is not an SQLite database or is shorter than its header says (truncated)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        with path.open("rb") as handle:
            head = handle.read(100)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return classify(exc, path)
    if len(head) < 100 or not head.startswith(HEADER):
        return not_a_database(path)
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return corrupt(path, f"its header names an impossible page size {page_size}")
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]
    if size % page_size:
        return corrupt(path, f"cut short in the middle of a page: {size:,} bytes")
    if header_valid and pages and size < pages * page_size and not _checkpointing(path):
        return corrupt(path, f"cut short: {size:,} of {pages * page_size:,} bytes")
    return None


def _checkpointing(path: Path) -> bool:
    """Whether the file may be mid-checkpoint: its WAL holds frames (a checkpoint copies them in page order, so
    page 1 can already name pages the file has not grown to yet). SQLite reads those pages from the WAL."""
    try:
        return Path(f"{path}-wal").stat().st_size > WAL_HEADER
    except OSError:
        return False


def prepare_folder(path: Path) -> None:
    """Create the database's folder if needed; a folder that can't be made is one StorageError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise no_folder(path, exc) from None
    except OSError as exc:
        if exc.errno in _FULL_ERRNOS:
            raise disk_full(path) from None
        raise no_folder(path, exc) from None
