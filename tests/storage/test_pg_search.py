"""Memory search on PostgreSQL (tsvector) finds what SQLite's FTS5 search finds, scoped and bounded the same way."""

from __future__ import annotations

import sqlite3

import pytest

from engine import queries, store
from engine.events import MemoryWritten
from engine.projection import apply_new
from engine.queries import SEARCH_WINDOW
from engine.storage import pg_search
from engine.storage.pg_conn import PgConnection, write_transaction
from engine.store import NewEvent, Stamp
from tests.storage.story import CHAT, ENDED_CHAT

SEARCHES = [  # (query, options, the memories SQLite finds)
    ("the dry storm?", {}, {"mem-1", "mem-2"}),
    ("Is the HARBOUR dry", {"character_id": "ch-aria"}, {"mem-4"}),
    ("storm harbour coins", {}, {"mem-1", "mem-2", "mem-4", "mem-7"}),
    ("town maps", {}, {"mem-7"}),  # words inside a URL, a path, an e-mail address: FTS5 splits them all
    ("bob's example", {"character_id": "ch-bram"}, {"mem-7"}),
    ("Aria and the harbour", {"ignore_names": ("Aria",)}, {"mem-2", "mem-4", "mem-7"}),
    ("wine", {}, set()),
    ("the and for", {}, set()),
    ("a particular note", {}, set()),  # mem-5 was forgotten: its row and its index entry are gone
    ("'); DROP TABLE memories; -- \"|& !", {}, set()),
    ("ferryman & lights | !pip", {"limit": 1}, {"mem-3"}),
]


@pytest.mark.parametrize(("text", "options", "expected"), SEARCHES)
def test_searches_find_the_same_memories_on_both_backends(sqlite_world: sqlite3.Connection,
                                                          pg_world_shared: PgConnection, text: str, options: dict,
                                                          expected: set[str]):
    on_sqlite = queries.search_memories(sqlite_world, CHAT, text, **options)
    on_pg = pg_search.search_memories(pg_world_shared, CHAT, text, **options)
    assert {m.memory_id for m in on_pg} == {m.memory_id for m in on_sqlite} == expected
    assert all(m.chat_id == CHAT for m in on_pg)


def test_the_best_match_comes_first(pg_world_shared: PgConnection):
    found = pg_search.search_memories(pg_world_shared, CHAT, "ferryman lights pip")
    assert [m.memory_id for m in found][:1] == ["mem-3"]  # the only memory with two of the words


def test_a_search_stays_in_its_chat(pg_world_shared: PgConnection):
    assert [m.memory_id for m in pg_search.search_memories(pg_world_shared, ENDED_CHAT, "wine")] == ["mem-0"]
    assert pg_search.search_memories(pg_world_shared, CHAT, "wine") == []


def test_the_words_searched_for_are_sqlites(pg_world_shared: PgConnection):
    assert pg_search.search_words("The FERRYMAN, the ferryman and Aria at the well!", ignore_names=("Aria",)) == [
        "ferryman"]  # stop words ('well' is one), names and repeats left out, as queries.fts_query does
    assert pg_search.tsquery_text(["ferryman", "lights"]) == "ferryman | lights"


def test_only_the_newest_window_of_matches_is_ranked(pg_world: PgConnection,
                                                     monkeypatch: pytest.MonkeyPatch):
    """Older matches beyond SEARCH_WINDOW are never ranked, however well they would score."""
    memories = [("lantern " * 5 + f"old {i}") for i in range(20)] + [f"a lantern, new {i}" for i in range(SEARCH_WINDOW)]
    with write_transaction(pg_world):
        version = store.stream_version(pg_world, f"chat:{CHAT}")
        events = [NewEvent(MemoryWritten(chat_id=CHAT, memory_id=f"lamp-{i}", character_id="ch-bram", text=text),
                           "guild-1", "admin-1") for i, text in enumerate(memories)]
        apply_new(pg_world, store.append(pg_world, f"chat:{CHAT}", version, events, stamp=Stamp("now")))
    found = pg_search.search_memories(pg_world, CHAT, "lantern", limit=SEARCH_WINDOW + 50)
    assert len(found) == SEARCH_WINDOW and all("new" in m.text for m in found)
    best = pg_search.search_memories(pg_world, CHAT, "lantern", limit=5)  # the old ones say it five times
    assert len(best) == 5 and all("new" in m.text for m in best)
    monkeypatch.setattr(pg_search, "SEARCH_WINDOW", 10_000)  # a wider window would rank the old ones first
    assert all("old" in m.text for m in pg_search.search_memories(pg_world, CHAT, "lantern", limit=5))
