"""The console's slash commands: the same groups and options as Discord's, as engine calls + text."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, overload

from bot import story_pictures
from engine import ChatView, InvalidInput, format_clock
from engine.text import foreign_digits

if TYPE_CHECKING:
    from bot.console import Console

Handler = Callable[["Console", dict[str, str]], Awaitable[str | None]]


@dataclass(frozen=True)
class Spec:
    """One console command: its handler, required and optional options, and a line of help."""

    handler: Handler
    required: tuple[str, ...]
    optional: tuple[str, ...]
    help: str


COMMANDS: dict[str, Spec] = {}


def command(path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), *,
            help: str) -> Callable[[Handler], Handler]:
    """Register a console command like 'character create'."""

    def register(fn: Handler) -> Handler:
        COMMANDS[path] = Spec(fn, required, optional, help)
        return fn

    return register


def usage(path: str) -> str:
    """'/character create name:… description:… [personality:…]'."""
    spec = COMMANDS[path]
    return " ".join([f"/{path}", *(f"{k}:…" for k in spec.required), *(f"[{k}:…]" for k in spec.optional)])


LIMITS = {"importance": (1, 10), "affinity": (-200, 200), "trust": (-200, 200), "messages": (1, 10_000),
          "to": (1, 2**62), "limit": (1, 100), "greeting": (1, 1_000), "number": (1, 1_000), "entry": (0, 100_000),
          "probability": (0, 100), "sticky": (0, 100_000), "cooldown": (0, 100_000), "delay": (0, 100_000),
          "order": (-1_000_000, 1_000_000), "scan_depth": (0, 1_000)}
ANY_NUMBER = (-(2**31), 2**31 - 1)  # an option not listed above
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")


@overload
def _int(args: dict[str, str], key: str, default: int) -> int: ...
@overload
def _int(args: dict[str, str], key: str, default: None = None) -> int | None: ...
def _int(args: dict[str, str], key: str, default: int | None = None) -> int | None:
    """A number option, range-checked before it is used (digits 0-9 only, as durations and times: within
    LIMITS[key])."""
    if key not in args:
        return default
    low, high = LIMITS.get(key, ANY_NUMBER)
    text = args[key].strip()
    if _WHOLE.fullmatch(text) is None or not low <= int(text) <= high:
        digits = " written with the digits 0-9" if foreign_digits(text) else ""
        raise InvalidInput(f"{key}: must be a whole number from {low:,} to {high:,}{digits}, not '{text[:20]}'.")
    return int(text)


async def _chat_and_character(console: Console, args: dict[str, str]) -> tuple[ChatView, str | None]:
    """The channel's story, and the id of the character named by the optional `character` option."""
    chat = await console.engine.get_chat(console.channel_id)
    if "character" not in args:
        return chat, None
    return chat, (await console.engine.get_character(chat.guild_id, args["character"])).character_id


@command("help", help="this list")
async def _help(console: Console, args: dict[str, str]) -> str:
    lines = [f"  {usage(path):<70} {spec.help}" for path, spec in COMMANDS.items()]
    return (f"{await console.how_to_begin()}\n"
            "Commands (other lines are spoken in character):\n" + "\n".join(lines))


@command("character create", ("name", "description"),
         ("personality", "scenario", "greeting", "example_dialogue", "avatar_url"), help="author a character")
async def _character_create(console: Console, args: dict[str, str]) -> str:
    card = await console.engine.author_character(console.actor, args.pop("name"), args.pop("description"), **args,
                                                 cause=console.cause)
    return f"Created {card.name}."


@command("character edit", ("name", "field", "value"), help="change one field of a card")
async def _character_edit(console: Console, args: dict[str, str]) -> str:
    card = await console.engine.edit_character(console.actor, args["name"], args["field"], args["value"],
                                               cause=console.cause)
    return f"Updated {card.name}'s {args['field']}."


@command("character show", ("name",), help="show a card")
async def _character_show(console: Console, args: dict[str, str]) -> str:
    card, whole = await console.engine.get_card(console.actor.guild_id, args["name"])
    book = whole.character_book
    fields = [("Nickname", card.nickname or ""), ("Personality", card.personality), ("Scenario", card.scenario),
              ("Greeting", card.greeting),
              ("Other greetings", str(len(card.alternate_greetings)) if card.alternate_greetings else ""),
              ("Tags", ", ".join(whole.tags)), ("Lorebook", f"{len(book.entries)} entries" if book else ""),
              ("Creator notes", card.creator_notes)]
    return "\n".join([f"{card.name}: {card.description}", *(f"  {k}: {v}" for k, v in fields if v)])


@command("character list", help="list characters")
async def _character_list(console: Console, args: dict[str, str]) -> str:
    cards = await console.engine.list_characters(console.actor.guild_id)
    return "\n".join(f"- {c.name}: {c.description[:80]}" for c in cards) or "No characters yet: /character create."


@command("character retire", ("name",), help="retire a character")
async def _character_retire(console: Console, args: dict[str, str]) -> str:
    card = await console.engine.retire_character(console.actor, args["name"], cause=console.cause)
    return f"{card.name} is retired."


@command("persona set", ("name",), ("description", "avatar_url"), help="who you are in the story")
async def _persona_set(console: Console, args: dict[str, str]) -> str:
    persona = await console.engine.set_persona(console.actor, args["name"], args.get("description", ""),
                                               args.get("avatar_url"), cause=console.cause)
    return f"You are now {persona.name}."


@command("persona show", help="your persona")
async def _persona_show(console: Console, args: dict[str, str]) -> str:
    persona = await console.engine.find_persona(console.actor.user_id, console.actor.guild_id)
    return f"{persona.name}: {persona.description}" if persona else "No persona yet: /persona set name:…"


@command("chat start", ("character",), ("guest", "time", "anchor", "weather", "place", "greeting"),
         help="start the story (greeting:N picks the host's greeting)")
async def _chat_start(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.start_chat(console.actor, console.channel_id, args["character"], **{
        k: args.get(k) for k in ("guest", "time", "anchor", "weather", "place")}, greeting=_int(args, "greeting"),
        sink=console.sink, cause=console.cause)
    return f"The story begins: {chat.anchor}, {chat.weather}."


@command("chat status", help="where the story stands")
async def _chat_status(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    names = [c.name for c in [await console.engine.character_by_id(i) for i in chat.character_ids] if c]
    return f"{' and '.join(names)} · {format_clock(chat.story_minute)} ({chat.anchor}) · {chat.weather}"


@command("chat end", help="end the story")
async def _chat_end(console: Console, args: dict[str, str]) -> str:
    await console.engine.end_chat(console.actor, console.channel_id, cause=console.cause)
    return "The story has ended. /chat start begins a new one."


@command("chat export", (), ("out",), help="write the transcript and events to files")
async def _chat_export(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    exported = await console.engine.export_chat(chat.chat_id)
    out = Path(args.get("out", "exports"))
    await asyncio.to_thread(exported.write_to, out)
    return f"Wrote {out / chat.chat_id}.md and .events.jsonl"


@command("chat prompt", (), ("character",), help="show the prompt the next reply would use")
async def _chat_prompt(console: Console, args: dict[str, str]) -> str:
    prompt = await console.engine.inspect_prompt(console.channel_id, args.get("character"))
    parts = ", ".join(f"{name} {tokens}" for name, tokens in prompt.parts)
    body = "\n".join(f"[{m.role}] {m.content}" for m in prompt.messages)
    from bot.console_cards import prompt_lore

    return f"{body}\n— {prompt.total_tokens} of {prompt.budget_tokens} tokens: {parts}{prompt_lore(prompt)}"


@command("chat timeline", (), ("out",), help="write the story's timeline (PNG) to a file")
async def _chat_timeline(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    png = await story_pictures.timeline_png(console.engine, chat)
    path = story_pictures.write_png(Path(args.get("out", "exports")), chat, story_pictures.TIMELINE_FILE, png)
    return f"Wrote the timeline to {path}"


@command("scene open", ("place",), ("title",), help="open a scene at a place")
async def _scene_open(console: Console, args: dict[str, str]) -> str:
    scene = await console.engine.open_scene(console.actor, console.channel_id, args["place"], args.get("title"),
                                            cause=console.cause)
    return f"Scene opened: {scene.title}."


@command("scene close", (), ("summary",), help="close the scene (the narrator summarises it)")
async def _scene_close(console: Console, args: dict[str, str]) -> str:
    scene = await console.engine.close_scene(console.actor, console.channel_id, args.get("summary"),
                                             cause=console.cause)
    return f"Scene closed: {scene.title}." + (f"\n  {scene.summary}" if scene.summary else "")


@command("place create", ("name",), ("description", "parent"), help="add a place")
async def _place_create(console: Console, args: dict[str, str]) -> str:
    place = await console.engine.create_place(console.actor, console.channel_id, args["name"],
                                              args.get("description", ""), args.get("parent"), cause=console.cause)
    return f"Added {place.name}."


@command("place list", help="the story's places")
async def _place_list(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    places = await console.engine.list_places(chat.chat_id)
    return "\n".join(f"- {p.name}" + (f": {p.description}" if p.description else "") for p in places) or "No places."


@command("time skip", ("by",), ("summary",), help="skip in-story time (by:3h, 2d, 1h30m)")
async def _time_skip(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.skip_time(console.actor, console.channel_id, args["by"], args.get("summary"),
                                          cause=console.cause)
    lines = await console.engine.transcript(chat.chat_id, limit=1)
    return f"[{lines[-1].text}] It is now {format_clock(chat.story_minute)} ({chat.anchor})."


@command("weather set", ("weather",), help="set the weather")
async def _weather_set(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.set_weather(console.actor, console.channel_id, args["weather"], cause=console.cause)
    return f"The weather is now {chat.weather}."


@command("memory add", ("text",), ("character", "importance"), help="give a character a memory")
async def _memory_add(console: Console, args: dict[str, str]) -> str:
    memory = await console.engine.write_memory(console.actor, console.channel_id, args["text"],
                                               character=args.get("character"), importance=_int(args, "importance", 5),
                                               cause=console.cause)
    return f"Remembered ({memory.memory_id})."


@command("memory list", (), ("character",), help="recent memories")
async def _memory_list(console: Console, args: dict[str, str]) -> str:
    chat, who = await _chat_and_character(console, args)
    memories = await console.engine.list_memories(chat.chat_id, who)
    return "\n".join(f"- {m.memory_id} [{m.importance}] {m.text}" for m in memories) or "No memories yet."


@command("memory search", ("query",), help="search memories")
async def _memory_search(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    memories = await console.engine.search_memories(chat.chat_id, args["query"])
    return "\n".join(f"- {m.memory_id} {m.text}" for m in memories) or "Nothing matches."


@command("memory forget", ("id",), help="forget a memory")
async def _memory_forget(console: Console, args: dict[str, str]) -> str:
    await console.engine.forget_memory(console.actor, console.channel_id, args["id"], cause=console.cause)
    return "Forgotten."


@command("meanwhile start", ("character", "premise"), ("place", "other"), help="an off-screen scene")
async def _meanwhile_start(console: Console, args: dict[str, str]) -> str:
    names = [args["character"]] + ([args["other"]] if "other" in args else [])
    scene = await console.engine.run_meanwhile(console.actor, console.channel_id, names, args["premise"],
                                               place=args.get("place"), cause=console.cause)
    return f"Meanwhile… {scene.digest}"


@command("relationship show", (), ("character",), help="relationships")
async def _relationship_show(console: Console, args: dict[str, str]) -> str:
    chat, who = await _chat_and_character(console, args)
    edges = await console.engine.relationships(chat.chat_id, involving=who)
    return "\n".join(f"- {e.source_name} → {e.target_name}: affinity {e.affinity:+d}, trust {e.trust:+d}"
                     + (f" ({e.note})" if e.note else "") for e in edges) or "No relationships yet."


@command("relationship map", (), ("out",), help="write the relationship map (PNG) to a file")
async def _relationship_map(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    png = await story_pictures.relationship_png(console.engine, chat)
    path = story_pictures.write_png(Path(args.get("out", "exports")), chat, story_pictures.RELATIONSHIPS_FILE, png)
    return f"Wrote the relationship map to {path}"


@command("relationship adjust", ("character", "target"), ("affinity", "trust", "note"), help="shift a relationship")
async def _relationship_adjust(console: Console, args: dict[str, str]) -> str:
    edge = await console.engine.adjust_relationship(
        console.actor, console.channel_id, args["character"], args["target"], affinity=_int(args, "affinity", 0),
        trust=_int(args, "trust", 0), note=args.get("note"), cause=console.cause)
    return f"{edge.source_name} → {edge.target_name}: affinity {edge.affinity:+d}, trust {edge.trust:+d}"


@command("reply regenerate", help="rewrite the latest reply")
async def _reply_regenerate(console: Console, args: dict[str, str]) -> None:
    await console.engine.regenerate(console.actor, console.channel_id, console.sink, cause=console.cause)


@command("reply continue", help="extend the latest reply")
async def _reply_continue(console: Console, args: dict[str, str]) -> None:
    await console.engine.continue_reply(console.actor, console.channel_id, console.sink, cause=console.cause)


@command("admin rewind", (), ("messages", "to"), help="undo the newest messages (or back to event 'to')")
async def _admin_rewind(console: Console, args: dict[str, str]) -> str:
    result = await console.engine.rewind(console.actor, console.channel_id, messages=_int(args, "messages"),
                                         to_seq=_int(args, "to"), cause=console.cause)
    removed = "\n".join(f"  - {m.speaker}: {m.text[:60]}" for m in result.removed_messages)
    return f"Rewound to event {result.to_seq}; {len(result.removed_messages)} message(s) left the story." + (
        f"\n{removed}" if removed else "")


@command("admin reproject", help="rebuild the world from the log")
async def _admin_reproject(console: Console, args: dict[str, str]) -> str:
    return f"Reprojected {await console.engine.reproject(console.actor)} events."


@command("admin check", help="compare the world with a fresh rebuild")
async def _admin_check(console: Console, args: dict[str, str]) -> str:
    report = await console.engine.check()
    return "Check: clean." if report.clean else "Check found drift:\n" + "\n".join(report.differences[:20])


@command("admin log", (), ("limit",), help="the newest events of this story")
async def _admin_log(console: Console, args: dict[str, str]) -> str:
    chat = await console.engine.get_chat(console.channel_id)
    events = await console.engine.recent_events(chat_id=chat.chat_id, limit=_int(args, "limit", 10) or 10)
    return "\n".join(f"#{e.seq} {e.kind}" for e in events)


from bot import console_cards  # noqa: E402,F401  (registers the card and lorebook commands; needs `command`)
