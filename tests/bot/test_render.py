"""Splitting long replies at Discord's 2,000 characters, and message links."""

from __future__ import annotations

import pytest

from bot.discord.render import split_message
from bot.discord.transformers import message_id_from
from engine import InvalidInput


def test_short_text_is_one_piece() -> None:
    """Text within the limit is not split."""
    assert split_message("  Hello there.  ") == ["Hello there."]


def test_splits_at_paragraphs_first() -> None:
    """Paragraph breaks are preferred; every piece fits."""
    paragraphs = ["A" * 900 + ".", "B" * 900 + ".", "C" * 900 + "."]
    pieces = split_message("\n\n".join(paragraphs))
    assert pieces == ["\n\n".join(paragraphs[:2]), paragraphs[2]]


def test_splits_at_sentences_without_paragraphs() -> None:
    """Without paragraph or line breaks, a sentence end is used."""
    text = "This is one sentence. " * 150
    pieces = split_message(text)
    assert all(len(p) <= 2000 for p in pieces) and all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text.strip()


def test_never_splits_inside_a_url() -> None:
    """A URL that straddles the limit moves whole to the next piece."""
    url = "https://example.com/" + "x" * 60
    text = "a" * 1970 + " " + url + " end"
    pieces = split_message(text)
    assert any(url in p for p in pieces) and all(len(p) <= 2000 for p in pieces)


def test_never_splits_inside_a_code_block() -> None:
    """A code block that fits stays whole in one piece."""
    code = "```py\n" + "\n".join(f"print({i})" for i in range(100)) + "\n```"
    text = "Intro line. " * 100 + "\n" + code + "\nAfter."
    pieces = split_message(text)
    assert any(code in p for p in pieces) and all(p.count("```") % 2 == 0 for p in pieces)


def test_a_code_block_longer_than_a_message_is_closed_and_reopened() -> None:
    """Each piece of an oversized code block is a valid block of its own."""
    code = "```py\n" + "\n".join(f"value_{i} = {i}" for i in range(400)) + "\n```"
    pieces = split_message(code)
    assert len(pieces) > 1 and all(len(p) <= 2000 and p.count("```") == 2 for p in pieces)
    assert all(p.startswith("```py\n") for p in pieces)


def test_message_links_and_ids() -> None:
    """`to` accepts a link into this channel or a bare id."""
    assert message_id_from("https://discord.com/channels/1/2/345", 2) == "345"
    assert message_id_from(" 345 ") == "345"
    with pytest.raises(InvalidInput):
        message_id_from("https://discord.com/channels/1/9/345", 2)
    with pytest.raises(InvalidInput):
        message_id_from("yesterday")
