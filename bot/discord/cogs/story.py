"""/memory, /meanwhile and /relationship: what characters remember, do off-screen, and feel."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import story_pictures
from bot.discord import render
from bot.discord.checks import actor_for, cause_of
from bot.discord.replies import announce, defer_private, defer_public, send_ephemeral, send_public
from bot.discord.transformers import character_names, memory_ids, place_names
from engine import MESSAGE_MAX, NAME_MAX, ChatView

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

Name = app_commands.Range[str, 1, NAME_MAX]
Text = app_commands.Range[str, 1, MESSAGE_MAX]
Score = app_commands.Range[int, -200, 200]


class Story(commands.Cog):
    """Memories, off-screen scenes and relationships of the channel's story."""

    memory = app_commands.Group(name="memory", description="What the characters remember", guild_only=True)
    meanwhile = app_commands.Group(name="meanwhile", description="Off-screen scenes", guild_only=True)
    relationship = app_commands.Group(name="relationship", description="How characters feel", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    async def _chat(self, interaction: discord.Interaction) -> ChatView:
        """The channel's open chat (NotFound says how to start one)."""
        return await self.bot.engine.get_chat(str(interaction.channel_id))

    async def _names(self, ids: Iterable[str]) -> dict[str, str]:
        """Character names by id."""
        names: dict[str, str] = {}
        for character_id in set(ids):
            card = await self.bot.engine.character_by_id(character_id)
            names[character_id] = card.name if card else character_id
        return names

    async def _character_id(self, interaction: discord.Interaction, name: str | None) -> str | None:
        """A character's id by name, or None when no name was given."""
        if name is None:
            return None
        return (await self.bot.engine.get_character(str(interaction.guild_id), name)).character_id

    @memory.command(name="add", description="Give a character a memory")
    @app_commands.describe(text="What they remember", character="Who remembers (default: the host)",
                           importance="1 (trivia) to 10 (life-changing)")
    @app_commands.autocomplete(character=character_names)
    async def memory_add(self, interaction: discord.Interaction, text: Text, character: Name | None = None,
                         importance: app_commands.Range[int, 1, 10] = 5) -> None:
        """Write a memory."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        memory = await self.bot.engine.write_memory(actor, str(interaction.channel_id), text,
                                                    character=character, importance=importance,
                                                    cause=cause_of(interaction))
        names = await self._names([memory.character_id])
        await send_ephemeral(interaction, f"🧠 **{names[memory.character_id]}** will remember that "
                                          f"(`{memory.memory_id}`).")

    @memory.command(name="list", description="List the story's newest memories")
    @app_commands.describe(character="Only this character's memories")
    @app_commands.autocomplete(character=character_names)
    async def memory_list(self, interaction: discord.Interaction, character: Name | None = None) -> None:
        """List memories."""
        chat = await self._chat(interaction)
        memories = await self.bot.engine.list_memories(chat.chat_id, await self._character_id(interaction, character),
                                                       limit=25)
        names = await self._names(m.character_id for m in memories)
        await send_ephemeral(interaction, embed=render.embed("Memories", render.memory_list(memories, names)))

    @memory.command(name="search", description="Search the story's memories")
    @app_commands.describe(query="Words to look for")
    async def memory_search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]) -> None:
        """Search memories."""
        chat = await self._chat(interaction)
        memories = await self.bot.engine.search_memories(chat.chat_id, query)
        names = await self._names(m.character_id for m in memories)
        await send_ephemeral(interaction, embed=render.embed(f"Memories matching “{render.clip(query, 60)}”",
                                                             render.memory_list(memories, names)))

    @memory.command(name="forget", description="Make a character forget a memory")
    @app_commands.describe(id="The memory's id (see /memory list)")
    @app_commands.autocomplete(id=memory_ids)
    async def memory_forget(self, interaction: discord.Interaction, id: app_commands.Range[str, 1, 80]) -> None:
        """Forget a memory."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        forgotten = await self.bot.engine.forget_memory(actor, str(interaction.channel_id), id,
                                                        cause=cause_of(interaction))
        await send_ephemeral(interaction, f"Forgotten: `{forgotten}`.")

    @meanwhile.command(name="start", description="Play out an off-screen scene; the narrator writes it")
    @app_commands.describe(character="Who is in it", place="Where it happens", premise="What it is about",
                           other="A second character")
    @app_commands.autocomplete(character=character_names, other=character_names, place=place_names)
    async def meanwhile_start(self, interaction: discord.Interaction, character: Name, place: Name,
                              premise: app_commands.Range[str, 1, 2000], other: Name | None = None) -> None:
        """Run an off-screen scene and post its digest."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        characters = [character] + ([other] if other else [])
        channel_id = str(interaction.channel_id)
        scene = await self.bot.engine.run_meanwhile(actor, channel_id, characters, premise, place,
                                                    cause=cause_of(interaction))
        names = await self._names(scene.participants)
        await announce(interaction, render.meanwhile_text(scene, names), ack="The scene is written.")

    @relationship.command(name="show", description="How the story's characters feel")
    @app_commands.describe(character="Only relationships involving this character or persona")
    @app_commands.autocomplete(character=character_names)
    async def relationship_show(self, interaction: discord.Interaction, character: Name | None = None) -> None:
        """Show relationships."""
        chat = await self._chat(interaction)
        edges = await self.bot.engine.relationships(chat.chat_id)
        if character is not None:
            wanted = character.strip().casefold()
            edges = [e for e in edges if wanted in (e.source_name.casefold(), e.target_name.casefold())]
        await send_ephemeral(interaction, embed=render.embed("Relationships", render.relationship_list(edges)))

    @relationship.command(name="map", description="A picture of who feels what about whom")
    async def relationship_map(self, interaction: discord.Interaction) -> None:
        """Attach the relationship map: affinity as colour, trust as width, notes as labels."""
        chat = await self._chat(interaction)
        await defer_public(interaction)
        png = await story_pictures.relationship_png(self.bot.engine, chat)
        file = discord.File(io.BytesIO(png), filename=story_pictures.RELATIONSHIPS_FILE)
        await send_public(interaction, "🕸️ Who feels what about whom: green likes, red dislikes, thicker trusts "
                                       "more.", file=file)

    @relationship.command(name="adjust", description="Shift how a character feels about someone")
    @app_commands.describe(character="Who feels", target="About whom (a character or a persona)",
                           affinity="Change in liking (-200 to 200)", trust="Change in trust (-200 to 200)",
                           note="A note about the relationship")
    @app_commands.autocomplete(character=character_names, target=character_names)
    async def relationship_adjust(self, interaction: discord.Interaction, character: Name, target: Name,
                                  affinity: Score = 0, trust: Score = 0,
                                  note: app_commands.Range[str, 1, 500] | None = None) -> None:
        """Adjust a relationship."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        edge = await self.bot.engine.adjust_relationship(actor, str(interaction.channel_id),
                                                         character, target, affinity=affinity, trust=trust, note=note,
                                                         cause=cause_of(interaction))
        await announce(interaction, render.relationship_list([edge]), ack="Relationship updated.")


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Story(bot))
