"""The slash commands whose answer on Discord is more than a line: a story's start (announced before its greeting,
with the greeting's buttons), a rewind (the replies it removed deleted), files and pictures, the prompt inspector,
cards and books shown in full, replies rewritten in place, and the doctor."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot import story_pictures
from bot.discord import doctor
from bot.discord.checks import actor_for, cause_of
from bot.discord.inspector import prompt_summary, prompt_text
from bot.discord.presenters import bot_of, perform, request_for, tell
from bot.discord.render import chat_status, clip, embed, jump_url, persona_embed
from bot.discord.render_cards import character_card_embed, entry_embed, file_stem, lorebook_embed
from bot.discord.replies import announce, defer_private, defer_public, send_ephemeral, send_public
from bot.discord.streaming import DiscordReplySink, revise_latest, swipe_greeting
from engine import Action, InvalidInput, RewindResult, greeting_choices
from engine.commands import (
    ChatStatus,
    ContinueReply,
    Doctor,
    EndChat,
    ExportCharacter,
    ExportChat,
    ExportLorebook,
    InspectPrompt,
    NudgeCharacter,
    RegenerateReply,
    RelationshipMap,
    RewindChat,
    ShowCharacter,
    ShowLorebook,
    ShowPersona,
    SomeoneElse,
    StartChat,
    SwipeGreeting,
    Timeline,
)

Presenter = Callable[[discord.Interaction, Action, dict[str, Any]], Awaitable[None]]


async def start_chat(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Start the channel's story: the announcement, then the host's greeting (recorded as its first reply)."""
    bot, channel = bot_of(interaction), interaction.channel
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        raise InvalidInput("A story lives in a text channel or a thread.")
    announced: list[bool] = []

    async def announce_start() -> None:
        if announced:
            return
        announced.append(True)
        status = await bot.engine.perform(ChatStatus(actor=actor_for(interaction), channel_id=str(channel.id)))
        chat, names, place = status
        cast = " and ".join(f"**{names[i]}**" for i in chat.character_ids)
        await announce(interaction, f"📖 A story begins here with {cast}. Just talk to join in; lines starting with "
                                    "`((` or `//` are out of character.", ack="The story has begun.",
                       embed=chat_status(chat, names, place, None))

    sink = DiscordReplySink(bot, channel, before_first=announce_start)
    request = await request_for(interaction, entry, values)
    try:
        chat = await bot.engine.perform(request, sink=sink, cause=cause_of(interaction))
    finally:
        await sink.close()
    await announce_start()
    lines = await bot.engine.reads.transcript(chat.chat_id, limit=1)
    if lines and lines[-1].role == "character":
        host = await bot.engine.reads.character_by_id(chat.host_id)
        count = len(greeting_choices(host, group=chat.guest_id is not None)) if host else 1
        await bot.show_reply_buttons(channel, lines[-1], greeting=(values.get("greeting") or 1, count))


async def end_chat(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """End the channel's story; its latest reply loses its buttons' place."""
    request = await request_for(interaction, entry, values)
    result = await perform(interaction, entry, request)
    bot_of(interaction).latest_replies.pop(interaction.channel_id or 0, None)
    await tell(interaction, entry, request, result)


async def rewind(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Rewind, delete the character messages after the point, and post who rewound to where."""
    request = await request_for(interaction, entry, values)
    result: RewindResult = await perform(interaction, entry, request)
    bot, channel = bot_of(interaction), interaction.channel
    if isinstance(channel, discord.TextChannel | discord.Thread):
        ids = [int(i) for m in result.removed_messages if m.role == "character" for i in m.discord_ids]
        await bot.poster.delete_ids(channel, ids)
        latest = bot.latest_replies.get(channel.id)
        if latest is not None and latest.message_id in ids:
            bot.latest_replies.pop(channel.id, None)
    lines = await bot.engine.reads.transcript(result.chat_id, limit=1)
    if lines and lines[-1].discord_ids:
        last = lines[-1]
        url = jump_url(interaction.guild_id or 0, interaction.channel_id or 0, last.discord_ids[0])
        where = f"{url} ({last.speaker}: “{clip(last.text, 60)}”)"
    elif lines:
        where = f"{lines[-1].speaker}: “{clip(lines[-1].text, 60)}”"
    else:
        where = "the start of the story"
    removed = len(result.removed_messages)
    await announce(interaction, f"⏪ **{interaction.user.display_name}** rewound the story to {where}. {removed} "
                                f"message{'s' if removed != 1 else ''} left the story: character replies after that "
                                "point were deleted, and people's messages after it stay in the channel but are no "
                                "longer part of the story.", ack="Rewound.")


async def export_chat(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Attach the Markdown transcript and the JSON Lines event file."""
    request = await request_for(interaction, entry, values)
    await interaction.response.defer(ephemeral=True, thinking=True)
    exported = await perform(interaction, entry, request)
    chat_id = exported.chat_id
    second = f"{chat_id}.events.jsonl" if exported.full else f"{chat_id}.story.jsonl"
    files = [discord.File(io.BytesIO(exported.transcript_md.encode()), filename=f"{chat_id}.md"),
             discord.File(io.BytesIO(exported.events_jsonl.encode()), filename=second)]
    what = ("every event of the log (JSON Lines), rewound and deleted lines included" if exported.full
            else "the story's lines (JSON Lines); admins can export the full event log")
    await send_ephemeral(interaction, f"Here is the story: the transcript (Markdown) and {what}.", files=files)


async def export_character(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Attach the card as V3 JSON and as a PNG other apps import."""
    request = await request_for(interaction, entry, values)
    await interaction.response.defer(ephemeral=True, thinking=True)
    exported = await perform(interaction, entry, request)
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


async def export_lorebook(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Attach the book as a lorebook_v3 file."""
    request = await request_for(interaction, entry, values)
    name, data = await perform(interaction, entry, request)
    await send_ephemeral(interaction, f"**{name}** as a lorebook_v3 file.",
                         file=discord.File(io.BytesIO(data), filename=f"{file_stem(name)}.json"))


async def inspect_prompt(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """The prompt inspector: a summary, and the whole prompt as a file (only the person sees it)."""
    request = await request_for(interaction, entry, values)
    await interaction.response.defer(ephemeral=True, thinking=True)
    view = await perform(interaction, entry, request)
    file = discord.File(io.BytesIO(prompt_text(view).encode()), filename="prompt.txt")
    await send_ephemeral(interaction, embed=prompt_summary(view), file=file)


async def timeline(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Attach the story's timeline: scenes at their places, time skips, meanwhile scenes, rewinds."""
    request = await request_for(interaction, entry, values)
    bot = bot_of(interaction)
    view = await perform(interaction, entry, request)
    await defer_public(interaction)
    _, png = await story_pictures.timeline_picture(bot.engine, view)
    await send_public(interaction, "🕰️ The story so far, along in-story time.",
                      file=discord.File(io.BytesIO(png), filename=story_pictures.TIMELINE_FILE))


async def relationship_map(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Attach the relationship map: affinity as colour, trust as width, notes as labels."""
    request = await request_for(interaction, entry, values)
    chat = await perform(interaction, entry, request)
    await defer_public(interaction)
    png = await story_pictures.relationship_png(bot_of(interaction).engine, chat)
    await send_public(interaction, "🕸️ Who feels what about whom: green likes, red dislikes, thicker trusts more.",
                      file=discord.File(io.BytesIO(png), filename=story_pictures.RELATIONSHIPS_FILE))


async def chat_status_embed(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """The channel's story at a glance."""
    request = await request_for(interaction, entry, values)
    chat, names, place = await perform(interaction, entry, request)
    scene = "a scene is open" if chat.active_scene_id else None
    await send_ephemeral(interaction, embed=chat_status(chat, names, place, scene))


async def show_character(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """A character's whole card."""
    request = await request_for(interaction, entry, values)
    card, whole = await perform(interaction, entry, request)
    await send_ephemeral(interaction, embed=character_card_embed(card, whole))


async def show_persona(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """The person's persona, or how to set one."""
    request = await request_for(interaction, entry, values)
    persona = await perform(interaction, entry, request)
    if persona is None:
        await tell(interaction, entry, request, persona)
        return
    await send_ephemeral(interaction, embed=persona_embed(persona))


async def show_lorebook(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """A book with its entries, or one entry in full."""
    request = await request_for(interaction, entry, values)
    book, entries = await perform(interaction, entry, request)
    if values.get("entry") is None:
        await send_ephemeral(interaction, embed=lorebook_embed(book, entries))
    elif not entries:
        await send_ephemeral(interaction, f"**{book.name}** has no entry #{values['entry']}.")
    else:
        await send_ephemeral(interaction, embed=entry_embed(entries[0]))


async def rewrite_reply(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Regenerate or continue the latest reply, editing its messages in place."""
    await revise_latest(bot_of(interaction), interaction, "continue" if entry.model is ContinueReply
                        else "regenerate")


async def greeting(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """Show another of the host's greetings as the story's opening line."""
    bot = bot_of(interaction)
    chat = await bot.engine.reads.get_chat(str(interaction.channel_id))
    lines = await bot.engine.reads.transcript(chat.chat_id, limit=1)
    latest = lines[-1] if lines else None
    await swipe_greeting(bot, interaction, values["number"], reply_id=latest.message_id if latest else "",
                         revision=latest.revision if latest else 0)


async def nudge(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """A cast member speaks now: its reply posted through the channel's webhook as it is written."""
    bot, channel = bot_of(interaction), interaction.channel
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        raise InvalidInput("A story lives in a text channel or a thread.")
    await defer_private(interaction)
    request = await request_for(interaction, entry, values)
    sink = DiscordReplySink(bot, channel)
    try:
        reply = await bot.engine.perform(request, sink=sink, cause=cause_of(interaction))
    finally:
        await sink.close()
    await bot.show_reply_buttons(channel, reply)
    await send_ephemeral(interaction, f"**{reply.speaker}** spoke.")


async def run_doctor(interaction: discord.Interaction, entry: Action, values: dict[str, Any]) -> None:
    """One line per check of the bot's setup, each failing one with its fix."""
    bot = bot_of(interaction)
    await defer_private(interaction)
    engine = bot.engine
    checks = await doctor.discord_checks(bot)
    checks += await doctor.model_checks(engine.model, bot.model_target or doctor.target_of(engine))
    checks += await doctor.database_checks(engine)
    verdict = "Everything Chronicle needs is in place." if doctor.passed(checks) else "Some things need fixing:"
    await send_ephemeral(interaction, f"{verdict}\n{doctor.report(checks)}")


SPECIAL: dict[type[Any], Presenter] = {
    StartChat: start_chat, EndChat: end_chat, RewindChat: rewind, ExportChat: export_chat,
    ExportCharacter: export_character, ExportLorebook: export_lorebook, InspectPrompt: inspect_prompt,
    Timeline: timeline, RelationshipMap: relationship_map, ChatStatus: chat_status_embed,
    ShowCharacter: show_character, ShowPersona: show_persona, ShowLorebook: show_lorebook,
    RegenerateReply: rewrite_reply, ContinueReply: rewrite_reply, SwipeGreeting: greeting, Doctor: run_doctor,
    NudgeCharacter: nudge, SomeoneElse: nudge,
}

__all__ = ["SPECIAL", "embed"]
