"""Small text helpers shared by deciders and the narrator."""

from __future__ import annotations


def substitute(text: str, char: str, user: str) -> str:
    """Replace {{char}} and {{user}} (any case) in card text."""
    for key, value in (("{{char}}", char), ("{{user}}", user)):
        text = text.replace(key, value).replace(key.upper(), value).replace(key.capitalize(), value)
    return text
