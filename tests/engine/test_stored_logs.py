"""A database written by Chronicle before the command table (event classes renamed, stored kinds unchanged)
opens, is migrated, replays clean, and its stories read back: 64 events of 17 kinds, written by that version's
`demo-data` and a console session (two characters, a persona, places, scenes, a time skip, weather, a memory, a
relationship, a lorebook attached, a rewind, the story ended)."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from pathlib import Path

from engine import Engine
from engine.events import EVENT_TYPES

OLD = Path(__file__).resolve().parent.parent / "data" / "before-the-command-table.db.gz"


def unpacked(folder: Path) -> Path:
    """The stored database, unpacked into `folder`."""
    target = folder / "old.db"
    with gzip.open(OLD, "rb") as packed, target.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return target


async def test_a_database_from_before_opens_replays_clean_and_reads_back(tmp_path: Path) -> None:
    engine = await Engine.open(unpacked(tmp_path))
    try:
        report = await engine.maintenance.check()
        assert report.clean and report.events == 64
        chats = await engine.reads.list_chats()
        assert len(chats) == 3 and [c.status for c in chats].count("ended") == 1
        ended = next(c for c in chats if c.status == "ended")
        assert [m.text for m in await engine.reads.transcript(ended.chat_id)] == []  # the rewind took both lines
        await engine.maintenance.rebuild()
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()
    with sqlite3.connect(tmp_path / "old.db") as raw:
        kinds = {kind for (kind,) in raw.execute("SELECT DISTINCT kind FROM events")}
    assert len(kinds) == 17 and kinds <= set(EVENT_TYPES)
