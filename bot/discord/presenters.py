"""What a slash command does with its options and the engine's answer.

Every action goes through `present`: the options become the action's model (attachments downloaded), a story
command waits for its channel's backfill hand-over, the engine performs it, and the person (or, for a public
action, the channel) is told what the table says. The few actions whose answer on Discord is more than a line
(files, pictures, the reply being rewritten in place, a story's start, a rewind) have a presenter of their own,
in bot/discord/present_more.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord

from bot.discord.checks import actor_for, cause_of
from bot.discord.render import character_embed, embed, persona_embed
from bot.discord.render_cards import entry_embed
from bot.discord.replies import announce, defer_private, send_ephemeral
from engine import Action, CardImportView, CharacterView, InvalidInput, LoreEntryView, PersonaView, check_upload
from engine.commands import ImportLorebook, Request, parse
from engine.table import Upload

if TYPE_CHECKING:
    from bot.discord.client import ChronicleBot

CARDS: dict[type[Any], Any] = {
    CharacterView: character_embed,
    CardImportView: lambda result: character_embed(result.character),
    PersonaView: persona_embed,
    LoreEntryView: entry_embed,
}


def bot_of(interaction: discord.Interaction) -> ChronicleBot:
    """The Chronicle bot handling an interaction."""
    return cast("ChronicleBot", interaction.client)


def slow(entry: Action) -> bool:
    """Whether Discord is answered at once and the result follows (it waits in the story queue, reads a file, or
    has the narrator write)."""
    return entry.queued or any(o.kind == "file" for o in entry.options)


async def request_for(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> Request[Any]:
    """The action's model from the options given (files downloaded), for the person in this channel."""
    actor = actor_for(interaction)
    if slow(entry) and not interaction.response.is_done():
        await defer_private(interaction)  # story commands wait behind a reply being written
    fields = dict(values)
    for option in entry.options:
        if option.kind == "file" and option.name in fields:
            attachment: discord.Attachment = fields[option.name]
            data = await download(attachment, lorebook=entry.model is ImportLorebook)
            fields[option.name] = Upload(filename=attachment.filename, data=data)
    if "channel_id" in entry.model.model_fields:
        fields["channel_id"] = str(interaction.channel_id)
    return parse(entry.model, actor=actor, **fields)  # type: ignore[arg-type]


async def perform(interaction: discord.Interaction, entry: Action, request: Request[Any]) -> Any:
    """Have the engine do it; a story command first waits for its channel's start-up backfill to hand over."""
    bot = bot_of(interaction)
    if entry.queued and interaction.channel_id is not None:
        await bot.arrivals.handed_over(interaction.channel_id)
    return await bot.engine.perform(request, cause=cause_of(interaction))


async def tell(interaction: discord.Interaction, entry: Action, request: Request[Any], result: Any) -> None:
    """Tell the person (or the channel, for a public action) what the table says, with the result's card."""
    text = entry.told(request, result) if entry.told is not None else None
    card, title = None, entry.title_for(request)
    if title is not None and text is not None:
        card, text = embed(title, text), None
    elif entry.card and type(result) in CARDS:
        card = CARDS[type(result)](result)
    extra = {"embed": card} if card is not None else {}
    if entry.public:
        await announce(interaction, text, ack="Done.", **extra)
    else:
        await send_ephemeral(interaction, text, **extra)


async def present(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Run one slash command the table's way: build its model, perform it, tell what the table says."""
    request = await request_for(interaction, entry, values)
    result = await perform(interaction, entry, request)
    await tell(interaction, entry, request, result)


async def download(file: discord.Attachment, *, lorebook: bool = False) -> bytes:
    """The bytes of an uploaded card or lorebook (refused over the import limit before it is fetched)."""
    check_upload(file.size, lorebook=lorebook)
    try:
        return await file.read()
    except (discord.HTTPException, discord.NotFound) as exc:
        raise InvalidInput(f"I couldn't download {file.filename} from Discord ({exc.status}): upload it again."
                           ) from None
