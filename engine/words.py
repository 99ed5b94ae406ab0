"""The distinctive words of a text, chosen once for full-text search on both backends (SQLite FTS5, PostgreSQL
tsvector): lower case, three letters or more (or two capitals), common English words left out."""

from __future__ import annotations

import re

_STOPWORDS = frozenset(
    "the and for are but not you all any can had her was one our out has him his how its may new now old see two"
    " who did get let put say she too use that with have this will your from they know want been good much some"
    " time very when come here just like long make many over such take than them well were what where which while"
    " would there their about could other into more only then these those after again also back because being both"
    " does each even every first going into most must should since still through under upon".split())


def words_of(text: str) -> list[str]:
    """The words of `text` a search can use: lower case, letters and digits, three or more of them."""
    return re.findall(r"[^\W_]{3,}", text.lower())


_SEARCHED = re.compile(r"[^\W_]{3,}|(?<![^\W_])[A-Z]{2}(?![^\W_])")  # and two capitals: GP, TV, DJ


def search_terms(text: str, *, ignore: frozenset[str] | set[str] = frozenset(), limit: int = 24) -> list[str]:
    """The distinctive words of `text` in order of first appearance, once each, at most `limit` of them (two-letter
    words only when written in capitals, as an abbreviation is: "my GP", "the TV")."""
    found = (w.lower() for w in _SEARCHED.findall(text))
    words = [w for w in found if w not in _STOPWORDS and w not in ignore][:limit]
    return list(dict.fromkeys(words))


def fts_query(text: str, *, ignore: frozenset[str] | set[str] = frozenset()) -> str | None:
    """Turn free text into a safe FTS5 OR-query of its distinctive words (None when it has none).

    Words in `ignore` (the names of the people in the scene, which nearly every memory mentions)
    are left out: they match everything and make the ranking sort the whole index.
    """
    return or_query(search_terms(text, ignore=ignore))


def or_query(terms: list[str]) -> str | None:
    """A safe FTS5 OR-query of `terms` (words as `search_terms` gives them); None when there are none."""
    return " OR ".join(f'"{w}"' for w in terms) or None


FAMILY_LETTERS = 6  # recall searches a rare word this long or longer with its family (its stem as a prefix)
SEARCH_WINDOW = 400  # a search ranks at most this many of the newest matching memories
