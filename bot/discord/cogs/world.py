"""/scene, /place, /time and /weather: the story's world."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord import render
from bot.discord.checks import actor_for, cause_of
from bot.discord.replies import announce, defer_private, send_ephemeral
from bot.discord.transformers import place_names
from engine import MESSAGE_MAX, NAME_MAX, format_clock

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

Name = app_commands.Range[str, 1, NAME_MAX]
Text = app_commands.Range[str, 1, MESSAGE_MAX]


class World(commands.Cog):
    """Scenes, places, time and weather of the channel's story."""

    scene = app_commands.Group(name="scene", description="Scenes of the story", guild_only=True)
    place = app_commands.Group(name="place", description="Places in the story's world", guild_only=True)
    time = app_commands.Group(name="time", description="In-story time", guild_only=True)
    weather = app_commands.Group(name="weather", description="The story's weather", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @scene.command(name="open", description="Open a scene at a place (created if new)")
    @app_commands.describe(place="Where the scene happens", title="A title for the scene")
    @app_commands.autocomplete(place=place_names)
    async def scene_open(self, interaction: discord.Interaction, place: Name, title: Name | None = None) -> None:
        """Open a scene."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        scene = await self.bot.engine.open_scene(actor, str(interaction.channel_id), place, title,
                                                 cause=cause_of(interaction))
        await announce(interaction, render.scene_line(scene, place), ack="Scene opened.")

    @scene.command(name="close", description="Close the open scene; the narrator writes its summary")
    async def scene_close(self, interaction: discord.Interaction) -> None:
        """Close the scene with a model-written summary."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        channel_id = str(interaction.channel_id)
        scene = await self.bot.engine.close_scene(actor, channel_id, None, cause=cause_of(interaction))
        places = {p.place_id: p.name for p in await self.bot.engine.list_places(scene.chat_id)}
        await announce(interaction, render.scene_line(scene, places.get(scene.place_id, "somewhere")),
                       ack="Scene closed.")

    @place.command(name="create", description="Add a place to the story's world")
    @app_commands.describe(name="The place's name", description="What it is like", parent="The place it is in")
    @app_commands.autocomplete(parent=place_names)
    async def place_create(self, interaction: discord.Interaction, name: Name,
                           description: app_commands.Range[str, 1, 6000] | None = None,
                           parent: Name | None = None) -> None:
        """Create a place."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        place = await self.bot.engine.create_place(actor, str(interaction.channel_id), name,
                                                   description or "", parent, cause=cause_of(interaction))
        where = f" in **{parent}**" if parent else ""
        await announce(interaction, f"🗺️ **{place.name}**{where} is now part of the world.", ack="Place added.")

    @place.command(name="list", description="List the story's places")
    async def place_list(self, interaction: discord.Interaction) -> None:
        """List places."""
        chat = await self.bot.engine.get_chat(str(interaction.channel_id))
        places = await self.bot.engine.list_places(chat.chat_id)
        await send_ephemeral(interaction, embed=render.embed("Places", render.place_list(places)))

    @time.command(name="skip", description="Move in-story time forward")
    @app_commands.describe(by="How long: 3h, 2d, 1h30m, 45m",
                           summary="What happened meanwhile (else the narrator says)")
    async def time_skip(self, interaction: discord.Interaction, by: app_commands.Range[str, 1, 20],
                        summary: Text | None = None) -> None:
        """Skip time."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        channel_id = str(interaction.channel_id)
        chat = await self.bot.engine.skip_time(actor, channel_id, by, summary, cause=cause_of(interaction))
        events = await self.bot.engine.recent_events(chat_id=chat.chat_id, limit=5)
        line = next((e.payload.get("summary") for e in reversed(events) if e.kind == "time_skip_elision"), None)
        told = f"\n> {render.clip(str(line), 1500)}" if line else ""
        await announce(interaction, f"⏳ Time passes… It is now **{format_clock(chat.story_minute)}**.{told}",
                       ack="Time skipped.")

    @weather.command(name="set", description="Set the story's weather")
    @app_commands.describe(weather="Like: rain, clear, a thick fog")
    async def weather_set(self, interaction: discord.Interaction, weather: Name) -> None:
        """Set the weather."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # story commands wait behind a reply being written
        chat = await self.bot.engine.set_weather(actor, str(interaction.channel_id), weather,
                                                 cause=cause_of(interaction))
        await announce(interaction, f"🌦️ The weather turns: **{chat.weather}**.", ack="Weather set.")


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(World(bot))
