"""/lore: lorebooks (world info) of this server — import, write entries, attach books to stories and characters."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import actor_for, cause_of
from bot.discord.render import embed
from bot.discord.render_cards import entry_embed, file_stem, lorebook_embed, lorebook_list
from bot.discord.replies import announce, defer_private, send_ephemeral
from bot.discord.transformers import character_names, entry_fields, lore_books
from bot.files import download
from engine import NAME_MAX

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

Book = app_commands.Range[str, 1, 100]
Name = app_commands.Range[str, 1, NAME_MAX]
Text = app_commands.Range[str, 1, 6000]
Keys = app_commands.Range[str, 1, 1000]
Count = app_commands.Range[int, 0, 10_000]
Entry = app_commands.Range[int, 1, 10_000_000]
Logic = Literal["AND_ANY", "AND_ALL", "NOT_ANY", "NOT_ALL"]
ENTRY_HELP = {
    "keys": "Keywords that bring it in, comma-separated (/regex/ works too)", "content": "What the characters know",
    "secondary_keys": "More keywords, comma-separated, combined by logic", "logic": "How secondary keys combine",
    "constant": "Always in the prompt, no keywords needed",
    "characters": "Only these characters know it (comma-separated)",
    "probability": "Chance (0-100) that it comes in when triggered", "sticky": "Stays in for this many messages",
    "cooldown": "Then stays out for this many messages", "delay": "Not before the story has this many messages",
    "order": "Insertion order (higher goes first when the budget is short)", "comment": "A label for it",
    "whole_words": "Keywords match whole words only", "case_sensitive": "Keywords match case exactly",
    "scan_depth": "How many recent lines are searched for keywords",
}


class Lore(commands.Cog):
    """Lorebooks: entries that enter a character's prompt when their keywords come up."""

    lore = app_commands.Group(name="lore", description="Lorebooks (world info) of this server", guild_only=True)

    def __init__(self, bot: ChronicleBot) -> None:
        self.bot = bot

    @lore.command(name="import", description="Import a lorebook (.json: lorebook_v3, character_book, world info)")
    @app_commands.describe(file="The lorebook file", name="Its name here (default: the book's, else the file's)",
                           replace="Replace the book that has this name (its author or an admin)")
    async def lore_import(self, interaction: discord.Interaction, file: discord.Attachment, name: Book | None = None,
                          replace: bool = False) -> None:
        """Import a lorebook file."""
        actor = actor_for(interaction)
        await defer_private(interaction)
        data = await download(file, lorebook=True)
        book = await self.bot.engine.import_lorebook(actor, data, file.filename, name=name, replace=replace,
                                                     cause=cause_of(interaction))
        await announce(interaction, f"📚 Lorebook **{book.name}** is here with {book.entries} entries. Attach it "
                                    "with `/lore attach`.", ack="Imported.")

    @lore.command(name="add", description="Add an entry to a lorebook (a new book is made)")
    @app_commands.describe(book="The lorebook", **ENTRY_HELP)
    @app_commands.autocomplete(book=lore_books)
    async def lore_add(self, interaction: discord.Interaction, book: Book, keys: Keys, content: Text,
                       secondary_keys: Keys | None = None, logic: Logic | None = None, constant: bool | None = None,
                       characters: Keys | None = None, probability: app_commands.Range[int, 0, 100] | None = None,
                       sticky: Count | None = None, cooldown: Count | None = None, delay: Count | None = None,
                       order: int | None = None, comment: Keys | None = None, whole_words: bool | None = None,
                       case_sensitive: bool | None = None, scan_depth: Count | None = None) -> None:
        """Add an entry."""
        fields = entry_fields(keys=keys, content=content, secondary_keys=secondary_keys, logic=logic,
                              constant=constant, characters=characters, probability=probability, sticky=sticky,
                              cooldown=cooldown, delay=delay, order=order, comment=comment, whole_words=whole_words,
                              case_sensitive=case_sensitive, scan_depth=scan_depth)
        view = await self.bot.engine.write_lore_entry(actor_for(interaction), book, cause=cause_of(interaction),
                                                      **fields)
        await send_ephemeral(interaction, f"Added entry #{view.number} to **{view.book_name}**.",
                             embed=entry_embed(view))

    @lore.command(name="edit", description="Change fields of a lorebook entry")
    @app_commands.describe(book="The lorebook", entry="The entry's number (see /lore show)", **ENTRY_HELP)
    @app_commands.autocomplete(book=lore_books)
    async def lore_edit(self, interaction: discord.Interaction, book: Book, entry: Entry, keys: Keys | None = None,
                        content: Text | None = None, secondary_keys: Keys | None = None, logic: Logic | None = None,
                        constant: bool | None = None, characters: Keys | None = None,
                        probability: app_commands.Range[int, 0, 100] | None = None, sticky: Count | None = None,
                        cooldown: Count | None = None, delay: Count | None = None, order: int | None = None,
                        comment: Keys | None = None, whole_words: bool | None = None,
                        case_sensitive: bool | None = None, scan_depth: Count | None = None) -> None:
        """Edit an entry."""
        fields = entry_fields(keys=keys, content=content, secondary_keys=secondary_keys, logic=logic,
                              constant=constant, characters=characters, probability=probability, sticky=sticky,
                              cooldown=cooldown, delay=delay, order=order, comment=comment, whole_words=whole_words,
                              case_sensitive=case_sensitive, scan_depth=scan_depth)
        view = await self.bot.engine.write_lore_entry(actor_for(interaction), book, number=entry,
                                                      cause=cause_of(interaction), **fields)
        await send_ephemeral(interaction, f"Updated **{view.book_name}** #{view.number}.", embed=entry_embed(view))

    @lore.command(name="list", description="List this server's lorebooks (and those in this story's cards)")
    async def lore_list(self, interaction: discord.Interaction) -> None:
        """List books, and the books of this channel's story's cards."""
        engine, guild = self.bot.engine, str(interaction.guild_id)
        books = await engine.list_lorebooks(guild)
        card_books = await engine.story_card_books(guild, str(interaction.channel_id))
        await send_ephemeral(interaction, embed=embed("Lorebooks", lorebook_list(books, card_books)))

    @lore.command(name="show", description="Show a lorebook's entries, or one entry")
    @app_commands.describe(book="The lorebook", entry="One entry's number")
    @app_commands.autocomplete(book=lore_books)
    async def lore_show(self, interaction: discord.Interaction, book: Book, entry: Entry | None = None) -> None:
        """Show a book or an entry."""
        found, entries = await self.bot.engine.lorebook(str(interaction.guild_id), book)
        if entry is None:
            await send_ephemeral(interaction, embed=lorebook_embed(found, entries))
            return
        match = next((v for v in entries if v.number == entry), None)
        if match is None:
            await send_ephemeral(interaction, f"**{found.name}** has no entry #{entry}.")
            return
        await send_ephemeral(interaction, embed=entry_embed(match))

    @lore.command(name="remove", description="Remove an entry from a lorebook")
    @app_commands.describe(book="The lorebook", entry="The entry's number")
    @app_commands.autocomplete(book=lore_books)
    async def lore_remove(self, interaction: discord.Interaction, book: Book, entry: Entry) -> None:
        """Remove an entry."""
        found = await self.bot.engine.remove_lore_entry(actor_for(interaction), book, entry,
                                                        cause=cause_of(interaction))
        await send_ephemeral(interaction, f"Removed entry #{entry} from **{found.name}**.")

    @lore.command(name="toggle", description="Switch a lorebook entry off or on")
    @app_commands.describe(book="The lorebook", entry="The entry's number")
    @app_commands.autocomplete(book=lore_books)
    async def lore_toggle(self, interaction: discord.Interaction, book: Book, entry: Entry) -> None:
        """Toggle an entry."""
        view = await self.bot.engine.toggle_lore_entry(actor_for(interaction), book, entry,
                                                       cause=cause_of(interaction))
        state = "on" if view.entry.enabled else "off"
        await send_ephemeral(interaction, f"**{view.book_name}** #{view.number} is now {state}.")

    @lore.command(name="attach", description="Attach a lorebook to this channel's story, or to a character")
    @app_commands.describe(book="The lorebook", character="Attach it to this character instead (every story)")
    @app_commands.autocomplete(book=lore_books, character=character_names)
    async def lore_attach(self, interaction: discord.Interaction, book: Book, character: Name | None = None) -> None:
        """Attach a book."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # a story's book changes in its channel's turn, maybe behind a reply
        found = await self.bot.engine.attach_lorebook(actor, str(interaction.channel_id), book,
                                                      character=character, cause=cause_of(interaction))
        where = f"**{character}**" if character else "this story"
        await send_ephemeral(interaction, f"📚 **{found.name}** is attached to {where}.")

    @lore.command(name="detach", description="Take a lorebook off this channel's story, or off a character")
    @app_commands.describe(book="The lorebook", character="Take it off this character instead")
    @app_commands.autocomplete(book=lore_books, character=character_names)
    async def lore_detach(self, interaction: discord.Interaction, book: Book, character: Name | None = None) -> None:
        """Detach a book."""
        actor = actor_for(interaction)
        await defer_private(interaction)  # a story's book changes in its channel's turn, maybe behind a reply
        found = await self.bot.engine.detach_lorebook(actor, str(interaction.channel_id), book,
                                                      character=character, cause=cause_of(interaction))
        where = f"**{character}**" if character else "this story"
        await send_ephemeral(interaction, f"**{found.name}** is no longer attached to {where}.")

    @lore.command(name="export", description="Download a lorebook (lorebook_v3 JSON)")
    @app_commands.describe(book="The lorebook")
    @app_commands.autocomplete(book=lore_books)
    async def lore_export(self, interaction: discord.Interaction, book: Book) -> None:
        """Attach the book as a file."""
        name, data = await self.bot.engine.export_lorebook(str(interaction.guild_id), book)
        await send_ephemeral(interaction, f"**{name}** as a lorebook_v3 file.",
                             file=discord.File(io.BytesIO(data), filename=f"{file_stem(name)}.json"))


async def setup(bot: ChronicleBot) -> None:
    """Add the cog."""
    await bot.add_cog(Lore(bot))
