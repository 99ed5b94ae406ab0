"""Engine DTOs → Discord text and embeds, and splitting long text at Discord's 2,000 characters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import discord

from engine import (
    CharacterView,
    ChatView,
    EventView,
    MeanwhileView,
    MemoryView,
    PersonaView,
    PlaceView,
    RelationshipView,
    SceneView,
    format_clock,
)
from engine.text import terminal_safe

MESSAGE_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
COLOUR = discord.Colour.dark_teal()

_URL = re.compile(r"https?://\S+")
_FENCE = re.compile(r"```")
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])[\"')\]*_]*\s+"), re.compile(r"\s+"))


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans a split must not fall inside: fenced code blocks and URLs."""
    spans = [m.span() for m in _URL.finditer(text)]
    fences = [m.start() for m in _FENCE.finditer(text)]
    for start, end in zip(fences[::2], fences[1::2], strict=False):
        spans.append((start, end + 3))
    if len(fences) % 2:  # an unclosed block runs to the end
        spans.append((fences[-1], len(text)))
    return spans


def _allowed(pos: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether cutting at `pos` keeps every protected span whole."""
    return all(not start < pos < end for start, end in spans)


def _cut(text: str, limit: int) -> tuple[int, int]:
    """Where to split: (end of this piece, start of the next) — the best break at or before `limit`."""
    spans = _protected(text)
    for pattern in _BREAKS:
        cuts = [m for m in pattern.finditer(text, 0, limit + 1) if m.start() > limit // 4
                and _allowed(m.start(), spans)]
        if cuts:
            return cuts[-1].start(), cuts[-1].end()
    for pos in range(limit, limit // 4, -1):
        if _allowed(pos, spans):
            return pos, pos
    return limit, limit


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters at paragraph, line or sentence breaks,
    never inside a code block or URL (a code block longer than a message is closed and reopened)."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        end, start = _cut(rest, limit)
        piece = rest[:end].rstrip()
        if piece.count("```") % 2:  # inside a code block longer than a message
            end = rest.rfind("\n", 0, limit - 4)
            end = end if end > rest.rfind("```", 0, limit - 4) + 3 else limit - 4
            opener = rest[rest.rfind("```", 0, end):].split("\n", 1)[0]
            pieces.append(rest[:end].rstrip() + "\n```")
            rest = opener + "\n" + rest[end:].lstrip("\n")
            continue
        pieces.append(piece)
        rest = rest[start:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces or [""]


def clip(text: str, limit: int) -> str:
    """Shorten text to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def embed(title: str, description: str = "", **fields: str) -> discord.Embed:
    """A Chronicle embed with optional inline fields (empty ones skipped)."""
    out = discord.Embed(title=clip(terminal_safe(title), 256),
                        description=clip(terminal_safe(description), EMBED_DESCRIPTION_LIMIT) or None, colour=COLOUR)
    for name, value in fields.items():
        if value:
            out.add_field(name=name.replace("_", " ").capitalize(), value=clip(terminal_safe(value), FIELD_LIMIT),
                          inline=True)
    return out


def character_embed(card: CharacterView) -> discord.Embed:
    """A character card."""
    out = embed(card.name, card.description, personality=card.personality, scenario=card.scenario,
                greeting=card.greeting)
    if card.avatar_url:
        out.set_thumbnail(url=card.avatar_url)
    if card.retired:
        out.set_footer(text="retired")
    return out


def character_list(cards: Sequence[CharacterView]) -> str:
    """Names and one-line descriptions."""
    if not cards:
        return "No characters yet. Create one with `/character create`."
    lines = [f"**{c.name}** — {clip(c.description.splitlines()[0] if c.description else '', 80)}" for c in cards]
    return clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)


def persona_embed(persona: PersonaView) -> discord.Embed:
    """A person's persona."""
    where = "everywhere" if persona.scope == "*" else "on this server"
    out = embed(persona.name, persona.description or "*No description.*")
    out.set_footer(text=f"Your persona {where}")
    if persona.avatar_url:
        out.set_thumbnail(url=persona.avatar_url)
    return out


def chat_status(chat: ChatView, names: dict[str, str], place: str | None, scene: str | None) -> discord.Embed:
    """The channel's story at a glance."""
    cast = ", ".join(names.get(i, i) for i in chat.character_ids)
    return embed("The story here", f"With **{cast}**.", time=format_clock(chat.story_minute), anchor=chat.anchor,
                 weather=chat.weather, place=place or "", scene=scene or "")


def place_list(places: Sequence[PlaceView]) -> str:
    """Places of a story."""
    if not places:
        return "No places yet. Add one with `/place create`."
    return clip("\n".join(f"**{p.name}**" + (f" — {clip(p.description, 80)}" if p.description else "")
                          for p in places), EMBED_DESCRIPTION_LIMIT)


def scene_line(scene: SceneView, place: str) -> str:
    """A scene opened or closed."""
    title = f" “{scene.title}”" if scene.title else ""
    if scene.status == "open":
        return f"🎬 Scene{title} opens at **{place}**."
    summary = f"\n> {clip(scene.summary, 1500)}" if scene.summary else ""
    return f"🎬 Scene{title} at **{place}** closes.{summary}"


def memory_list(memories: Iterable[MemoryView], names: dict[str, str]) -> str:
    """Memories with their ids (for `/memory forget`)."""
    lines = [f"`{m.memory_id}` **{names.get(m.character_id, m.character_id)}** ({m.importance}): {clip(m.text, 200)}"
             for m in memories]
    return clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT) if lines else "No memories found."


def meanwhile_text(scene: MeanwhileView, names: dict[str, str]) -> str:
    """An off-screen scene's digest."""
    who = " and ".join(names.get(i, i) for i in scene.participants)
    digest = scene.digest or "*(no digest yet)*"
    return clip(f"🌒 **Meanwhile** — {who}: *{scene.premise}*\n{digest}", MESSAGE_LIMIT)


def relationship_list(edges: Sequence[RelationshipView]) -> str:
    """Relationships as lines."""
    if not edges:
        return "No relationships recorded yet."
    lines = [f"**{e.source_name}** → **{e.target_name}**: affinity {e.affinity:+d}, trust {e.trust:+d}"
             + (f" — {clip(e.note, 100)}" if e.note else "") for e in edges]
    return clip("\n".join(lines), EMBED_DESCRIPTION_LIMIT)


def event_lines(events: Sequence[EventView]) -> str:
    """The newest events of the log, one line each."""
    if not events:
        return "The log is empty."
    lines = []
    for e in events:
        summary = ", ".join(f"{k}={clip(str(v), 30)!r}" for k, v in list(e.payload.items())[:3])
        lines.append(f"`{e.seq:>6}` {e.kind} — {summary}")
    return clip("\n".join(lines), MESSAGE_LIMIT - 20)


def jump_url(guild_id: str | int, channel_id: str | int, message_id: str | int) -> str:
    """A Discord link to a message."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
