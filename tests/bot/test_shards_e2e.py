"""Two `chronicle run` processes over one PostgreSQL, each owning a block of the shards; one is killed mid-reply.

The fake Discord routes every guild event to the session of the guild's shard, `(guild_id >> 22) % 4`, so the
process owning shards {0,1} serves the North guild and the one owning {2,3} the South guild. North's process
is SIGKILLed while a reply is streaming (posted, not yet recorded) and started again: nothing is recorded
twice, the story keeps its order, the projection carries on from its cursor, the posted-but-unrecorded
reply is withdrawn and the person's line is answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from engine import Engine
from engine.storage.pg_conn import PgConnection
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.discord.world import MANAGE_GUILD
from tests.fakes.llm_server import FakeLLMServer

SHARDS = 4
TOKEN = "sharded-secret-token"


@dataclass
class Place:
    """A guild with one channel, an admin and a member."""

    guild: FakeGuild
    channel: FakeChannel
    admin: FakeMember
    member: FakeMember


def _place(fd: FakeDiscord, name: str, shard: int) -> Place:
    guild = fd.add_guild(name, shard=(shard, SHARDS))
    return Place(guild, fd.add_channel(guild, "story"), fd.add_member(guild, f"{name} Admin", permissions=MANAGE_GUILD),
                 fd.add_member(guild, f"{name} Player"))


async def _start(fd: FakeDiscord, llm: FakeLLMServer, url: str, block: str, places: list[Place],
                 cwd: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "DISCORD_TOKEN": TOKEN, "CHRONICLE_DATABASE": url, "CHRONICLE_SHARD_COUNT": str(SHARDS),
           "CHRONICLE_SHARD_IDS": block, "CHRONICLE_LLM_BASE_URL": llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
           "CHRONICLE_DISCORD_API_BASE": fd.api_base, "CHRONICLE_LOG_FORMAT": "json",
           "CHRONICLE_SYNC_GUILD_IDS": ",".join(str(p.guild.id) for p in places), "PYTHONPATH": str(Path.cwd())}
    env.pop("CHRONICLE_DISCORD_GATEWAY_URL", None)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=cwd, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int | None, str]:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    return proc.returncode, err.decode(errors="replace")


def _hooked(fd: FakeDiscord, place: Place, *, deleted: bool = False) -> list[FakeMessage]:
    """Character messages (webhook posts) in a place's channel, deleted ones too when asked."""
    found = [m for m in fd.messages.values() if m.channel_id == place.channel.id and m.webhook_id is not None
             and m.webhook_id != fd.application_id and (deleted or not m.deleted)]
    return sorted(found, key=lambda m: m.id)


async def _start_story(fd: FakeDiscord, place: Place) -> None:
    for path, options in (("character create", {"name": "Aria", "description": "A bard."}),
                          ("chat start", {"character": "Aria"})):
        record = await fd.invoke_command(place.channel, place.admin, path, options)
        await record.wait_done(15)
        assert not record.rejected and record.texts, record.texts


def _answered(fd: FakeDiscord, place: Place, line: FakeMessage) -> bool:
    """Whether the newest character message answers `line` and was recorded (its reply buttons came)."""
    newest = _hooked(fd, place)
    return bool(newest) and newest[-1].id > line.id and bool(newest[-1].components)


async def _say(fd: FakeDiscord, place: Place, text: str) -> FakeMessage:
    """A person's line, and the character's reply to it, recorded."""
    sent = await fd.user_says(place.channel, place.member, text)
    await fd.wait_for(lambda: _answered(fd, place, sent), 20)
    return sent


def _log(url: str) -> list[tuple]:
    with PgConnection.connect(url) as conn:
        return conn.execute("SELECT seq, kind, chat_id, idempotency_key, payload FROM events ORDER BY seq").fetchall()


async def test_two_processes_split_the_shards_and_a_killed_one_resumes(fake_llm: FakeLLMServer, pg_url: str,
                                                                        tmp_path: Path) -> None:
    async with FakeDiscord() as fd:
        fd.shard_count, fd.max_concurrency = SHARDS, SHARDS
        north, south = _place(fd, "North", 0), _place(fd, "South", 3)
        procs = {block: await _start(fd, fake_llm, pg_url, block, [north, south], tmp_path) for block in ("0,1", "2,3")}
        try:
            await fd.wait_for(lambda: fd.gateway.connected_shards() == set(range(SHARDS)), timeout=40)
            await fd.wait_for(lambda: fd.registered_commands(north.guild) and fd.registered_commands(south.guild), 20)
            assert sorted(i.shard for i in fd.gateway.identifies) == [(s, SHARDS) for s in range(SHARDS)]
            for place in (north, south):
                await _start_story(fd, place)
            first = await _say(fd, north, "Hello from the north")
            await _say(fd, south, "Hello from the south")

            # the first of two chunks is long enough to pass the client's hold-back for stop strings
            hold = asyncio.Event()
            fake_llm.enqueue_gated("The lighthouse keeper looked out over the grey water for a long while, "
                                   "then turned back to the lamp and said nothing at all.", hold, chunks=2)
            pending = await fd.user_says(north.channel, north.member, "What did the keeper say")
            await fd.wait_for(lambda: _hooked(fd, north)[-1].content.startswith("The lighthouse keeper"), 20)
            orphan = _hooked(fd, north)[-1]
            procs["0,1"].kill()  # SIGKILL mid-reply: the reply is posted but never recorded
            await procs["0,1"].wait()
            hold.set()
            await _say(fd, south, "The south carries on")  # the other process is unaffected

            identified = len(fd.gateway.identifies)
            procs["0,1"] = await _start(fd, fake_llm, pg_url, "0,1", [north, south], tmp_path)
            await fd.wait_for(lambda: len(fd.gateway.identifies) >= identified + 2
                              and fd.gateway.connected_shards() == set(range(SHARDS)), timeout=40)
            await fd.wait_for(lambda: fd.messages[orphan.id].deleted and _answered(fd, north, pending), timeout=30)
            assert "What did the keeper say" in _hooked(fd, north)[-1].content
            await _say(fd, north, "Thank you")
        finally:
            results = {block: await _stop(proc) for block, proc in procs.items()}
    for block, (code, err) in results.items():
        assert code == 0, f"shards {block}: {err[-3000:]}"
        assert TOKEN not in err
        assert '"identify_turn_taken"' in err
    await _check_the_log(pg_url, fd, north, first=first, pending=pending, orphan=orphan)


async def _check_the_log(url: str, fd: FakeDiscord, north: Place, *, first: FakeMessage, pending: FakeMessage,
                         orphan: FakeMessage) -> None:
    """Nothing recorded twice, the orphan never recorded, North's story in Discord's order, the world clean."""
    events = _log(url)
    seqs = [e[0] for e in events]
    assert seqs == sorted(seqs)
    keys = [e[3] for e in events if e[3] is not None]
    assert len(keys) == len(set(keys))  # every Discord message and interaction recorded once
    said = [json.loads(e[4])["message_id"] for e in events if e[1] == "user_said"]
    assert len(said) == len(set(said)) == 5 and str(pending.id) in said and str(first.id) in said
    replied = [json.loads(e[4]) for e in events if e[1] == "bot_replied"]
    assert str(orphan.id) not in {i for r in replied for i in r["discord_message_ids"]}  # the orphan: never recorded
    engine = await Engine.open(url)
    try:
        chats = {c.guild_id: c for c in await engine.reads.list_chats()}
        north_lines = await engine.reads.transcript(chats[str(north.guild.id)].chat_id, limit=100)
        assert [line.role for line in north_lines] == ["person", "character"] * 3
        assert north_lines[2].message_id == str(pending.id) and "What did the keeper say" in north_lines[3].text
        posted = [m.content for m in fd.channel_history(north.channel.id)]
        assert [line.text for line in north_lines] == [text for text in posted if text in
                                                       {line.text for line in north_lines}]
        assert (await engine.maintenance.check()).clean
        with PgConnection.connect(url) as conn:
            assert conn.execute("SELECT position FROM projection_cursor").fetchone()[0] == seqs[-1]
    finally:
        await engine.close()
