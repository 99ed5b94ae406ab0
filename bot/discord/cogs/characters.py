"""/character and /persona: character cards and the person's own persona."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import actor_for, cause_of
from bot.discord.render import character_embed, character_list, embed, persona_embed
from bot.discord.render_cards import character_card_embed, file_stem, imported_line
from bot.discord.replies import announce, defer_private, send_ephemeral, send_public
from bot.discord.transformers import character_names
from bot.files import download
from engine import NAME_MAX, URL_MAX, InvalidInput

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

TEXT_MAX = 6000  # Discord's longest string option; the engine allows card fields up to CARD_FIELD_MAX
Name = app_commands.Range[str, 1, NAME_MAX]
Text = app_commands.Range[str, 1, TEXT_MAX]
Url = app_commands.Range[str, 1, URL_MAX]
Field = Literal["name", "description", "personality", "scenario", "greeting", "example_dialogue", "system_prompt",
                "post_history_instructions", "avatar_url"]


class Characters(commands.Cog):
    """Character cards and personas."""

    character = app_commands.Group(name="character", description="Characters of this server", guild_only=True)
    persona = app_commands.Group(name="persona", description="Who you are in the stories", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @character.command(name="create", description="Create a character")
    @app_commands.describe(name="The character's name", description="Who they are (appearance, background)",
                           personality="How they behave and speak", scenario="The situation they start in",
                           greeting="Their first line in a new story", avatar_url="An image link for their avatar")
    async def character_create(self, interaction: discord.Interaction, name: Name, description: Text,
                               personality: Text | None = None, scenario: Text | None = None,
                               greeting: Text | None = None, avatar_url: Url | None = None) -> None:
        """Create a character card."""
        card = {k: v for k, v in (("personality", personality), ("scenario", scenario), ("greeting", greeting),
                                  ("avatar_url", avatar_url)) if v is not None}
        created = await self.bot.engine.author_character(actor_for(interaction), name, description,
                                                          cause=cause_of(interaction), **card)
        await send_public(interaction, f"✨ **{created.name}** joins the cast.", embed=character_embed(created))

    @character.command(name="edit", description="Change one field of a character you created")
    @app_commands.describe(name="The character", field="Which field", value="The new value")
    @app_commands.autocomplete(name=character_names)
    async def character_edit(self, interaction: discord.Interaction, name: Name, field: Field, value: Text) -> None:
        """Edit a character card."""
        card = await self.bot.engine.edit_character(actor_for(interaction), name, field, value,
                                                    cause=cause_of(interaction))
        await send_ephemeral(interaction, f"Updated {field.replace('_', ' ')} of **{card.name}**.",
                             embed=character_embed(card))

    @character.command(name="show", description="Show a character's card")
    @app_commands.describe(name="The character")
    @app_commands.autocomplete(name=character_names)
    async def character_show(self, interaction: discord.Interaction, name: Name) -> None:
        """Show a character card."""
        card, whole = await self.bot.engine.get_card(str(interaction.guild_id), name)
        await send_ephemeral(interaction, embed=character_card_embed(card, whole))

    @character.command(name="import", description="Import a character card (.png, .json or .charx, V1/V2/V3)")
    @app_commands.describe(card="The card file your app exported", name="Import it under this name instead",
                           replace="Replace the character that has this name (its author or an admin)")
    async def character_import(self, interaction: discord.Interaction, card: discord.Attachment,
                               name: Name | None = None, replace: bool = False) -> None:
        """Import a card file with its lorebook and image; one clear line when the file can't be imported."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        data = await download(card)
        result = await self.bot.engine.import_card(actor, data, card.filename, name=name, replace=replace,
                                                   cause=cause_of(interaction))
        await announce(interaction, imported_line(result), ack="Imported.", embed=character_embed(result.character))

    @character.command(name="export", description="Download a character's card (.json and .png)")
    @app_commands.describe(name="The character")
    @app_commands.autocomplete(name=character_names)
    async def character_export(self, interaction: discord.Interaction, name: Name) -> None:
        """Attach the card as V3 JSON and as a PNG other apps import."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        exported = await self.bot.engine.export_card(str(interaction.guild_id), name)
        limit = getattr(interaction, "filesize_limit", 10 * 1024 * 1024)
        if len(exported.json_bytes) + len(exported.png_bytes) > limit:
            raise InvalidInput(f"{exported.name}'s card is too big for a Discord upload here. Export it from the "
                               "terminal with `chronicle card export`.")
        stem = file_stem(exported.name)
        files = [discord.File(io.BytesIO(exported.json_bytes), filename=f"{stem}.json"),
                 discord.File(io.BytesIO(exported.png_bytes), filename=f"{stem}.png")]
        image = "its own image" if exported.on_own_image else "a generated image"
        await send_ephemeral(interaction, f"**{exported.name}**'s card: V3 JSON, and a PNG on {image} (with `ccv3` "
                                          "and `chara` chunks) that other apps import.", files=files)

    @character.command(name="list", description="List this server's characters")
    async def character_list(self, interaction: discord.Interaction) -> None:
        """List characters."""
        cards = await self.bot.engine.list_characters(str(interaction.guild_id))
        await send_ephemeral(interaction, embed=embed("Characters", character_list(cards)))

    @character.command(name="retire", description="Retire a character (its stories stay)")
    @app_commands.describe(name="The character")
    @app_commands.autocomplete(name=character_names)
    async def character_retire(self, interaction: discord.Interaction, name: Name) -> None:
        """Retire a character."""
        card = await self.bot.engine.retire_character(actor_for(interaction), name, cause=cause_of(interaction))
        await send_public(interaction, f"🕯️ **{card.name}** has been retired. Their stories remain.")

    @persona.command(name="set", description="Set who you are in this server's stories")
    @app_commands.describe(name="Your character's name", description="Who you are",
                           avatar_url="An image link for your avatar")
    async def persona_set(self, interaction: discord.Interaction, name: Name, description: Text | None = None,
                          avatar_url: Url | None = None) -> None:
        """Set the invoker's persona."""
        persona = await self.bot.engine.set_persona(actor_for(interaction), name, description or "", avatar_url,
                                                    cause=cause_of(interaction))
        await send_ephemeral(interaction, f"You are now **{persona.name}** here.", embed=persona_embed(persona))

    @persona.command(name="show", description="Show your persona")
    async def persona_show(self, interaction: discord.Interaction) -> None:
        """Show the invoker's persona."""
        persona = await self.bot.engine.find_persona(str(interaction.user.id), str(interaction.guild_id))
        if persona is None:
            await send_ephemeral(interaction, f"You have no persona yet, so you speak as "
                                              f"**{interaction.user.display_name}**. Set one with `/persona set`.")
            return
        await send_ephemeral(interaction, embed=persona_embed(persona))


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Characters(bot))
