"""PostgreSQL storage faults as one line each: what is wrong with which server, and what to do.

`classify` turns a psycopg error into a StorageError (or None when the error is not a storage fault, such as
a constraint violation, which the engine handles itself), by its SQLSTATE; errors raised while connecting
carry none, so their server text is read instead. The location named is the URL without its password.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import StorageError

DISCONNECTED = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now (starting up)
LOCKED = ("55P03", "57014")  # lock_timeout, statement_timeout (or a cancel)
_OUT_OF = {"53100": "disk space", "53200": "memory", "53300": "connections", "53400": "a configured limit"}


def is_fault(exc: BaseException) -> bool:
    """Whether a psycopg error is about the server or the connection rather than the data written."""
    psycopg = sys.modules.get("psycopg")  # loaded by any PostgreSQL connection that could have raised
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return False
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("40"):  # a serialization failure or deadlock: about the transaction, not the storage
        return False
    return isinstance(exc, psycopg.OperationalError) or state in ("25006", "42501")


def reason(exc: BaseException) -> str:
    """The server's (or the driver's) own words, on one line."""
    diag = getattr(exc, "diag", None)
    text = getattr(diag, "message_primary", None) or str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()


def classify(exc: BaseException, location: str, *, opening: bool = False) -> StorageError | None:
    """The StorageError for a psycopg error met while opening (`opening`) or using the database at `location`
    (a URL without its password), or None when it is not a storage fault."""
    if isinstance(exc, StorageError):
        return exc
    if not is_fault(exc):
        return None
    state, why = getattr(exc, "sqlstate", None) or "", reason(exc)
    if state in _OUT_OF or "too many connections" in why:
        return _out_of(location, _OUT_OF.get(state, "connections"), why)
    if state == "25006":
        return StorageError(f"the database {location} only allows reading ({why}): point CHRONICLE_DATABASE at a "
                            "writable primary server, or allow writing (ALTER DATABASE … SET "
                            "default_transaction_read_only = off, or the role's setting).", kind="unwritable",
                            path=location)
    if state == "42501":
        return StorageError(f"Chronicle's role may not do this on {location} ({why}): connect as the role that owns "
                            "Chronicle's tables (migrations and reprojects change them), or grant it back.",
                            kind="unwritable", path=location)
    if state in LOCKED:
        return StorageError(f"the database {location} kept Chronicle waiting ({why}): another program holds "
                            "Chronicle's tables (a long transaction?) or a timeout set on the server is too short; "
                            "nothing was recorded, try again.", kind="locked", path=location)
    if state and not state.startswith("08") and state not in DISCONNECTED:
        return StorageError(f"the database server {location} failed ({why}, SQLSTATE {state}): nothing was recorded. "
                            "Check the server's log.", kind="io", path=location)
    if opening:
        return StorageError(f"could not open the database {location}: {why}. Check that the server runs and that "
                            "CHRONICLE_DATABASE (or --database) names the right host, port, database and user.",
                            kind="unreachable", path=location)
    return StorageError(f"lost the connection to the database {location} ({why}): what was being recorded may or may "
                        "not have been saved. Chronicle connects again for the next command; if this repeats, check "
                        "the server.", kind="disconnected", path=location)


def _out_of(location: str, what: str, why: str) -> StorageError:
    if what == "disk space":
        return StorageError(f"the disk of the database server {location} is full ({why}): nothing more can be "
                            "recorded until space is freed there. Free some space; Chronicle carries on by itself, "
                            "and nothing recorded so far is lost.", kind="full", path=location)
    return StorageError(f"the database server {location} is out of {what} ({why}): nothing was recorded. Stop other "
                        "programs using it, or raise its limits (max_connections, memory); Chronicle carries on by "
                        "itself.", kind="overloaded", path=location)


@contextmanager
def as_storage_error(location: str, *, opening: bool = False) -> Iterator[None]:
    """Raise a storage fault met inside as its StorageError (`classify`); anything else passes unchanged."""
    try:
        yield
    except Exception as exc:
        storage = classify(exc, location, opening=opening)
        if storage is None or storage is exc:
            raise
        raise storage from exc
