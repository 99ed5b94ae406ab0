"""Small text helpers shared by deciders and the narrator."""

from __future__ import annotations

import unicodedata
from typing import Any, TextIO

from engine.names import name_key as name_key  # re-exported: names are compared by it (engine/names.py)


def substitute(text: str, char: str, user: str) -> str:
    """Replace {{char}} and {{user}} (any case) in card text."""
    for key, value in (("{{char}}", char), ("{{user}}", user)):
        text = text.replace(key, value).replace(key.upper(), value).replace(key.capitalize(), value)
    return text


# --- hostile text: control characters, look-alike names, terminal output ---------------------------

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_ON_TERMINAL = frozenset("\n\t")


def _is_control(char: str) -> bool:
    """C0 and C1 control characters (NUL, BEL, ESC, DEL, CSI …) and bidirectional overrides."""
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS


def find_control(text: str) -> str | None:
    """The first control character in `text` (as U+XXXX), or None."""
    for char in text:
        if _is_control(char):
            return f"U+{ord(char):04X}"
    return None


def refuse_controls(text: str) -> str:
    """A pydantic validator: names, weather, personas and places may not hold control characters."""
    found = find_control(text)
    if found is not None:
        raise ValueError(f"contains the control character {found}; use plain text")
    return text


def refuse_controls_in_text(text: str) -> str:
    """A pydantic validator for longer texts: line breaks and tabs are fine, other control characters are not."""
    found = find_control(text.replace("\n", "").replace("\t", "").replace("\r", ""))
    if found is not None:
        raise ValueError(f"contains the control character {found}; use plain text")
    return text


def foreign_digits(text: str) -> bool:
    """Whether `text` has digits other than 0-9 (٣, ３, ३…): Chronicle reads numbers in 0-9 only, everywhere."""
    return any(c.isdigit() and not c.isascii() for c in text)


def terminal_safe(text: str) -> str:
    """`text` with every control character but newline and tab shown as an escape (\\x1b, \\u202e), so
    nothing printed to a terminal can move the cursor, recolour, ring or reorder what follows."""
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\r\n", "\n")  # Windows line ends (common in imported cards) are line ends
    return "".join(c if c in _KEPT_ON_TERMINAL or not _is_control(c) else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class TerminalSafe:
    """A text stream wrapper that neutralises control characters in everything written through it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write `text` with its control characters escaped."""
        return self._stream.write(terminal_safe(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
