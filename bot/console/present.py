"""The console commands whose answer is more than the table's line: files written where `out:` says (cards, books,
the story's export and pictures), the prompt inspector, cards and books shown in full, a story's start (its greeting
streams in), replies rewritten in place, and the log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.console.files import write_card
from bot.files import write_file
from bot.shown import candidate_lines, file_stem, lore_lines
from engine import LoreEntryView
from engine.commands import (
    ContinueReply,
    ExportCharacter,
    ExportChat,
    ExportLorebook,
    InspectPrompt,
    RegenerateReply,
    RelationshipMap,
    ShowCharacter,
    ShowLog,
    ShowLorebook,
    StartChat,
    SwipeGreeting,
    Timeline,
)

if TYPE_CHECKING:
    from bot.console.app import Console

Presenter = Callable[["Console", Any, dict[str, str]], Awaitable[str | None]]
WRITES_FILES = frozenset({ExportCharacter, ExportLorebook, ExportChat, Timeline, RelationshipMap})


def _out(args: dict[str, str]) -> Path:
    return Path(args.get("out", "exports")).expanduser()


async def _perform(console: Console, request: Any) -> Any:
    return await console.engine.perform(request, sink=console.sink, cause=console.cause)


async def start_chat(console: Console, request: Any, args: dict[str, str]) -> str:
    """Start the story (the greeting streams in as the host's first reply)."""
    chat = await _perform(console, request)
    return f"The story begins: {chat.anchor}, {chat.weather}."


async def export_chat(console: Console, request: Any, args: dict[str, str]) -> str:
    """The transcript and the events, as files."""
    exported = await _perform(console, request)
    out = _out(args)
    await asyncio.to_thread(exported.write_to, out)
    return f"Wrote {out / exported.chat_id}.md and .events.jsonl"


async def export_character(console: Console, request: Any, args: dict[str, str]) -> str:
    """A card as V3 JSON and PNG."""
    written = write_card(await _perform(console, request), args.get("out"))
    return "Wrote " + " and ".join(str(path) for path in written)


async def export_lorebook(console: Console, request: Any, args: dict[str, str]) -> str:
    """A book as lorebook_v3 JSON."""
    name, data = await _perform(console, request)
    target = Path(args["out"]).expanduser() if "out" in args else Path("exports") / f"{file_stem(name)}.json"
    if "out" in args and (args["out"].endswith("/") or target.is_dir()):
        target = target / f"{file_stem(name)}.json"
    return f"Wrote {write_file(target, data)}"


async def timeline(console: Console, request: Any, args: dict[str, str]) -> str:
    """The story's timeline as a PNG file."""
    from bot import story_pictures  # matplotlib loads only when a picture is drawn

    chat, png = await story_pictures.timeline_picture(console.engine, await _perform(console, request))
    return f"Wrote the timeline to {story_pictures.write_png(_out(args), chat, story_pictures.TIMELINE_FILE, png)}"


async def relationship_map(console: Console, request: Any, args: dict[str, str]) -> str:
    """The relationship map as a PNG file."""
    from bot import story_pictures  # matplotlib loads only when a picture is drawn

    chat = await _perform(console, request)
    png = await story_pictures.relationship_png(console.engine, chat)
    path = story_pictures.write_png(_out(args), chat, story_pictures.RELATIONSHIPS_FILE, png)
    return f"Wrote the relationship map to {path}"


async def inspect_prompt(console: Console, request: Any, args: dict[str, str]) -> str:
    """The whole prompt, its token use per part, and the lore inspector."""
    prompt = await _perform(console, request)
    parts = ", ".join(f"{name} {tokens}" for name, tokens in prompt.parts)
    body = "\n".join(f"[{m.role}] {m.content}" for m in prompt.messages)
    lore, ranked = lore_lines(prompt.lore), candidate_lines(prompt)
    tail = ("\nlore:\n  " + "\n  ".join(lore)) if lore else ""
    tail += ("\nranked budget:\n  " + "\n  ".join(ranked)) if ranked else ""
    return (f"{body}\n— {prompt.total_tokens} of {prompt.budget_tokens} tokens: {parts}\n"
            f"counted by: {prompt.counter}{tail}")


async def show_character(console: Console, request: Any, args: dict[str, str]) -> str:
    """A character's card, with what a whole card adds."""
    card, whole = await _perform(console, request)
    book = whole.character_book
    fields = [("Nickname", card.nickname or ""), ("Personality", card.personality), ("Scenario", card.scenario),
              ("Greeting", card.greeting),
              ("Other greetings", str(len(card.alternate_greetings)) if card.alternate_greetings else ""),
              ("Tags", ", ".join(whole.tags)), ("Lorebook", f"{len(book.entries)} entries" if book else ""),
              ("Creator notes", card.creator_notes)]
    return "\n".join([f"{card.name}: {card.description}", *(f"  {k}: {v}" for k, v in fields if v)])


def entry_line(view: LoreEntryView) -> str:
    """One entry of a book, as the console lists it."""
    e = view.entry
    keys = "always" if e.constant else ", ".join(e.keys)
    only = f" (only {', '.join(e.characters)})" if e.characters else ""
    return f"  #{view.number} {'' if e.enabled else '[off] '}{e.label} — {keys}{only}: {e.content}"


async def show_lorebook(console: Console, request: Any, args: dict[str, str]) -> str:
    """A book and its entries (or one)."""
    book, entries = await _perform(console, request)
    return "\n".join([f"{book.name} ({book.entries} entries)", *(entry_line(v) for v in entries)])


async def rewrite(console: Console, request: Any, args: dict[str, str]) -> None:
    """A reply regenerated, continued or swiped: it streams in where replies do."""
    await _perform(console, request)


async def show_log(console: Console, request: Any, args: dict[str, str]) -> str:
    """The newest events of this story, one a line."""
    events = await _perform(console, request)
    return "\n".join(f"#{e.seq} {e.kind}" for e in events) or "The log is empty."


SPECIAL: dict[type[Any], Presenter] = {
    StartChat: start_chat, ExportChat: export_chat, ExportCharacter: export_character,
    ExportLorebook: export_lorebook, Timeline: timeline, RelationshipMap: relationship_map,
    InspectPrompt: inspect_prompt, ShowCharacter: show_character, ShowLorebook: show_lorebook,
    RegenerateReply: rewrite, ContinueReply: rewrite, SwipeGreeting: rewrite, ShowLog: show_log,
}
