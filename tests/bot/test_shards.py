"""A sharded bot in-process against the fake Discord: it hears, syncs and backfills only the guilds of its shards."""

from __future__ import annotations

from pathlib import Path

from bot.discord.client import ShardedChronicleBot, make_bot
from engine import Actor, Engine
from engine.commands import AuthorCharacter, StartChat
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.fixtures import run_bot
from tests.fakes.discord.world import MANAGE_GUILD


async def test_a_bot_owning_shard_1_of_2_serves_only_its_guilds(tmp_path: Path) -> None:
    async with FakeDiscord() as fd:
        fd.shard_count = 2
        mine, other = fd.add_guild("Mine", shard=(1, 2)), fd.add_guild("Other", shard=(0, 2))
        mine_channel, other_channel = fd.add_channel(mine, "story"), fd.add_channel(other, "story")
        fd.add_member(mine, "Ada", permissions=MANAGE_GUILD)
        stranger = fd.add_member(other, "Stranger")
        engine = await Engine.open(tmp_path / "chronicle.db")
        try:
            host = Actor(user_id="host", guild_id=str(other.id), is_admin=True)  # the other process's story
            await engine.perform(AuthorCharacter(actor=host, name="Aria", description="A bard."))
            other_chat = await engine.perform(StartChat(actor=host, channel_id=str(other_channel.id), character="Aria"))
            fd.post_message_while_offline(other_channel, stranger, "said while every bot was away")
            bot = make_bot(engine, shard_count=2, shard_ids=[1], sync_guild_ids=[mine.id, other.id],
                           guild_ready_timeout=0.05)
            assert isinstance(bot, ShardedChronicleBot)
            with fd.patch_discord():
                async with run_bot(fd, bot, timeout=10):
                    await fd.wait_for(bot.backfill_done.is_set, 10)
                    assert {g.id for g in bot.guilds} == {mine.id}
                    assert bot.owns_guild(mine.id) and not bot.owns_guild(other.id)
                    assert await bot.owned_open_chats() == []  # the open story is the other process's
                    assert fd.registered_commands(mine) and not fd.registered_commands(other)
                    assert [s.shard for s in fd.gateway.sessions.values()] == [(1, 2)]
                    await fd.user_says(other_channel, stranger, "anyone there?")
                    await fd.user_says(mine_channel, fd.guilds[mine.id].members[fd.owner_user.id], "(( hello")
                    await fd.wait_for(lambda: any(f["d"].get("channel_id") == str(mine_channel.id)
                                                  for s in fd.gateway.sessions.values() for f in s.frames
                                                  if f["t"] == "MESSAGE_CREATE"), 5)
                    frames = [f for s in fd.gateway.sessions.values() for f in s.frames]
                    assert not [f for f in frames if str(other.id) in (f["d"].get("guild_id"), f["d"].get("id"))]
            assert await engine.reads.transcript(other_chat.chat_id) == []  # the other guild's backfill is not ours
        finally:
            await engine.close()
