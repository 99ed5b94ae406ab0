"""The engine's error tree. A DomainError's ``str()`` is safe to show a person."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class DomainError(EngineError):
    """A rule of the story was broken; the message says what to do instead."""


class NotFound(DomainError):
    """Something named by the caller does not exist."""


class InvalidInput(DomainError):
    """The caller's input failed validation (too long, empty, wrong format)."""


class PermissionDenied(DomainError):
    """The caller may not do this (for example, a non-admin rewinding)."""


class NoStory(NotFound):
    """The channel has no open story (channel messages there are simply not part of one)."""

    def __init__(self, message: str = "There is no story in this channel yet. Start one with /chat start.") -> None:
        super().__init__(message)


class AlreadyHandled(DomainError):
    """The same Discord message or interaction arrived again; it was handled the first time."""

    def __init__(self, message: str = "That was already handled.") -> None:
        super().__init__(message)


class SlowDown(DomainError):
    """Too many replies are already waiting in this channel."""


class ConcurrencyConflict(EngineError):
    """Another write reached the same stream first: nothing of this command was recorded."""

    def __str__(self) -> str:
        return "Someone else changed this story at the same moment, so nothing was recorded. Please try again."


class NarratorUnavailable(EngineError):
    """The language model could not produce a reply after every retry."""

    def __init__(self, reason: str, *, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts

    def __str__(self) -> str:
        return f"The narrator is unavailable ({self.reason}) after {self.attempts} attempt(s)."


class ProjectionError(EngineError):
    """A projection handler failed; the event was not recorded."""


class StorageError(EngineError):
    """The database can't be used as needed: one line naming the file or server, what is wrong and what to do.

    `kind` is one of: unwritable, no_folder, not_a_database, corrupt, full, locked, io (both backends),
    SQLite's gone (the file was deleted or replaced while in use), missing, outdated and read_only (a command
    that only reads), and PostgreSQL's unreachable (can't connect), disconnected (the connection was lost
    mid-work: what was being recorded may or may not be saved) and overloaded (the server is out of memory or
    connections). `path` is the file, or the URL without its password. `kept` says what of the action had been
    recorded before the fault (a person's line whose reply could not be), so nobody records it again.
    """

    def __init__(self, message: str, *, kind: str, path: str, kept: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path
        self.kept = kept

    def after(self, kept: str) -> StorageError:
        """The same fault, met after `kept` (what is in the log, what is not) was recorded: one line saying so first."""
        return StorageError(f"{kept}: {self}", kind=self.kind, path=self.path, kept=kept)
