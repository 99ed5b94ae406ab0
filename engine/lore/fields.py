"""Typed readers for loosely typed JSON objects (cards, books, entries) that name the field at fault."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TEXT_MAX = 32_000
DEFAULT_FIX = "Fix it in the file and import it again."


class FieldProblem(ValueError):
    """One thing wrong with a field; the card and lore importers word it for the person."""

    def __init__(self, where: str, problem: str, fix: str = DEFAULT_FIX) -> None:
        super().__init__(f"{where} {problem}".strip())
        self.where = where
        self.problem = problem
        self.fix = fix

    def within(self, prefix: str) -> FieldProblem:
        """The same problem, located inside `prefix` (for example a lorebook entry)."""
        return FieldProblem(f"{prefix} {self.where}".strip(), self.problem, self.fix)


def type_name(value: Any) -> str:
    """A person-friendly name for a JSON value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(key: str, wanted: str, value: Any) -> FieldProblem:
    return FieldProblem(f"'{key}'", f"must be {wanted}, not {type_name(value)}")


def _check_length(key: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise FieldProblem(f"'{key}'", f"is {len(value):,} characters long (the limit is {limit:,})",
                           "Shorten it and import it again.")
    return value


def text(raw: Mapping[str, Any], key: str, *, limit: int = TEXT_MAX, default: str = "") -> str:
    """A text field; missing or null gives `default`."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(key, "text", value)
    return _check_length(key, value, limit)


def optional_text(raw: Mapping[str, Any], key: str, *, limit: int = TEXT_MAX) -> str | None:
    """A text field that may be absent (None)."""
    return text(raw, key, limit=limit) if raw.get(key) is not None else None


def text_list(raw: Mapping[str, Any], key: str, *, max_items: int, limit: int = TEXT_MAX,
              split_text: bool = False) -> tuple[str, ...]:
    """A list of text; with `split_text`, a comma-separated string is accepted too."""
    value = raw.get(key)
    if value is None:
        return ()
    if split_text and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise _wrong(key, "a list of text", value)
    if len(value) > max_items:
        raise FieldProblem(f"'{key}'", f"has {len(value):,} entries (the limit is {max_items:,})",
                           "Remove some and import it again.")
    for item in value:
        if not isinstance(item, str):
            raise FieldProblem(f"'{key}'", f"must be a list of text, but one item is {type_name(item)}")
        _check_length(key, item, limit)
    return tuple(value)


def optional_text_list(raw: Mapping[str, Any], key: str, *, max_items: int,
                       limit: int = TEXT_MAX) -> tuple[str, ...] | None:
    """A list of text that may be absent (None)."""
    return text_list(raw, key, max_items=max_items, limit=limit) if raw.get(key) is not None else None


def flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    """A true/false field; missing or null gives `default`."""
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(key, "true or false", value)
    return value


def optional_flag(raw: Mapping[str, Any], key: str) -> bool | None:
    """A true/false field that may be absent (None)."""
    return flag(raw, key, False) if raw.get(key) is not None else None


def number(raw: Mapping[str, Any], key: str, *, low: float | None = None,
           high: float | None = None) -> int | float | None:
    """A number field (int or float kept as given) that may be absent (None), within [low, high]."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong(key, "a number", value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise FieldProblem(f"'{key}'", f"must be {bounds}, not {value}")
    return value


def whole(raw: Mapping[str, Any], key: str, default: int = 0, *, low: int = 0) -> int:
    """A whole-number field (counts of messages and the like); missing or null gives `default`."""
    value = number(raw, key, low=low)
    if value is None:
        return default
    if isinstance(value, float) and not value.is_integer():
        raise FieldProblem(f"'{key}'", f"must be a whole number, not {value}")
    return int(value)


def obj(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    """An object field (such as `extensions`); missing or null gives a new empty dict."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(key, "an object", value)
    return dict(value)


def read_json(data: bytes) -> Any:
    """Decode UTF-8 JSON (a byte-order mark is allowed), or raise FieldProblem saying what is broken."""
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldProblem("the JSON", f"is not UTF-8 text (bad byte at position {exc.start})",
                           "Save it as UTF-8 and import it again.") from None
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise FieldProblem("the JSON", f"is broken at line {exc.lineno}, column {exc.colno} ({exc.msg})",
                           "Export the file again or fix it in a text editor.") from None
    except (ValueError, RecursionError):
        raise FieldProblem("the JSON", "is too deeply nested or has a number too long to read",
                           "Export the file again.") from None


def unknown(raw: Mapping[str, Any], known: frozenset[str] | set[str]) -> dict[str, Any]:
    """The fields of `raw` not in `known`, in their original order (kept so exports reproduce them)."""
    return {key: value for key, value in raw.items() if key not in known}
