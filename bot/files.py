"""Files in and out: what the console exports (pictures, cards, lorebooks) is written with a place that can't be
written as one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

from engine import InvalidInput


def write_file(path: Path, data: bytes) -> Path:
    """Write `data` to `path` (its folder made if needed) and return it; refuse a place that can't be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except ValueError:  # a NUL in the path
        raise InvalidInput("can't write there: the file or folder name holds a NUL character.") from None
    except OSError as exc:
        raise InvalidInput(f"can't write {exc.filename or path}: {exc.strerror or exc}. Choose a place you can "
                           "write to (out:…).") from None
    return path
