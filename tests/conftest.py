"""Shared fixtures: real SQLite files in tmp_path, the real engine, actors, and table dumps."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import Actor, Engine
from engine.projection import projector
from tests.fakes.llm_fixtures import fake_llm  # noqa: F401  (the loopback model server fixture)

GUILD = "guild-1"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh database file path."""
    return tmp_path / "chronicle.db"


@pytest.fixture
async def engine(db_path: Path) -> AsyncIterator[Engine]:
    """The real engine on a migrated temporary database."""
    eng = await Engine.open(db_path)
    try:
        yield eng
    finally:
        await eng.close()


@pytest.fixture
def admin() -> Actor:
    """A server admin in GUILD."""
    return Actor(user_id="admin-1", guild_id=GUILD, display_name="Ada", is_admin=True)


@pytest.fixture
def player() -> Actor:
    """A plain member of GUILD."""
    return Actor(user_id="player-1", guild_id=GUILD, display_name="Pip")


def dump_world(path: Path, *, chat_id: str | None = None, chat_only: bool = False) -> dict[str, list[tuple]]:
    """Every projected table's rows, sorted (one chat's rows when `chat_id` is given)."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in projector.tables:
            if chat_only and not table.chat_scoped:
                continue
            sql, params = f"SELECT * FROM {table.name}", ()
            if chat_id is not None and table.chat_scoped:
                sql, params = sql + " WHERE chat_id = ?", (chat_id,)
            out[table.name] = sorted(conn.execute(sql, params).fetchall(), key=repr)
        return out
    finally:
        conn.close()


def count_events(path: Path) -> int:
    """How many events the log holds."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()


async def story(engine: Engine, admin: Actor, channel: str = "chan-1", *, guest: bool = True) -> str:
    """A small story: two characters, a persona, a chat with a scene; returns the chat id."""
    if await engine.find_chat(channel) is None:
        names = {c.name for c in await engine.list_characters(admin.guild_id)}
        if "Aria" not in names:
            await engine.author_character(admin, "Aria", "A wandering bard.")
        if "Bram" not in names:
            await engine.author_character(admin, "Bram", "A quiet smith.")
        await engine.set_persona(admin, "Wren", "A traveller.")
        await engine.start_chat(admin, channel, "Aria", guest="Bram" if guest else None, place="Tavern")
    chat = await engine.get_chat(channel)
    return chat.chat_id
