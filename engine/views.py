"""Read models handed to frontends (DTOs). Plain frozen dataclasses, no behaviour (a transcript line is a named
tuple: a prompt reads hundreds of them, and a tuple is built several times faster than a frozen dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.lore.model import LoreEntry


@dataclass(frozen=True, slots=True)
class CharacterView:
    """A character card in a guild."""

    character_id: str
    guild_id: str
    name: str
    description: str
    personality: str
    scenario: str
    greeting: str
    example_dialogue: str
    system_prompt: str
    post_history_instructions: str
    avatar_url: str | None
    author_id: str
    retired: bool
    nickname: str | None = None  # replaces {{char}} in card text when set (V3)
    creator_notes: str = ""  # shown by /character show, never in a prompt
    alternate_greetings: tuple[str, ...] = ()
    group_greetings: tuple[str, ...] = ()  # V3 group_only_greetings: choices when a story has a guest
    talkativeness: float = 0.5  # how eager it is to speak in a group story (its card's extensions.talkativeness)


@dataclass(frozen=True, slots=True)
class PersonaView:
    """A person's persona; `scope` is a guild id or '*' for the global one."""

    user_id: str
    scope: str
    name: str
    description: str
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class ChatView:
    """A chat and its current state."""

    chat_id: str
    guild_id: str
    channel_id: str
    host_id: str
    guest_id: str | None
    started_by: str
    status: str
    story_minute: int
    anchor: str
    weather: str
    active_scene_id: str | None
    place_id: str | None
    created_seq: int
    started_at: str | None = None
    turn_rule: str = "host"  # how the chat picks who speaks next (engine/turns.py; 'host' until one is chosen)
    cast: tuple[str, ...] = ()  # the characters in the story, in the order they joined (host and guest first)
    muted: tuple[str, ...] = ()  # members of the cast who do not speak (they stay in "who is here")
    absent: tuple[str, ...] = ()  # members away from the open scene (they neither speak nor witness)

    @property
    def character_ids(self) -> tuple[str, ...]:
        """The cast in the order it joined (a view built without it: host then guest)."""
        if self.cast:
            return self.cast
        return (self.host_id,) if self.guest_id is None else (self.host_id, self.guest_id)

    @property
    def speakers(self) -> tuple[str, ...]:
        """The cast members who may speak (the cast without the muted ones and those away), in cast order."""
        return tuple(i for i in self.character_ids if i not in self.muted and i not in self.absent)


@dataclass(frozen=True, slots=True)
class CastMemberView:
    """A character in a chat's cast."""

    character_id: str
    name: str
    muted: bool
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class CastView:
    """A chat's cast in the order it joined; `named` is the member a command was about (by its name now)."""

    chat_id: str
    members: tuple[CastMemberView, ...]
    named: str = ""


@dataclass(frozen=True, slots=True)
class PlaceView:
    """A place in a chat's world."""

    place_id: str
    chat_id: str
    name: str
    description: str
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class SceneView:
    """A scene at a place."""

    scene_id: str
    chat_id: str
    place_id: str
    title: str
    present: tuple[str, ...]
    status: str
    summary: str | None


class MessageView(NamedTuple):
    """A line of the transcript."""

    message_id: str
    chat_id: str
    seq: int
    role: str
    author_id: str
    speaker: str
    character_id: str | None
    text: str
    discord_ids: tuple[str, ...]
    revision: int
    retracted: bool
    story_minute: int
    scene_id: str | None


@dataclass(frozen=True, slots=True)
class MemoryView:
    """Something a character remembers."""

    memory_id: str
    chat_id: str
    character_id: str
    text: str
    importance: int
    source: str
    source_id: str | None
    story_minute: int
    seq: int
    pinned: bool = False  # in every prompt of its character (within a cap)
    character_name: str = ""  # filled where a frontend shows it (lists, answers)


@dataclass(frozen=True, slots=True)
class MeanwhileView:
    """An off-screen scene."""

    meanwhile_id: str
    chat_id: str
    place_id: str | None
    premise: str
    participants: tuple[str, ...]
    digest: str | None
    story_minute: int
    names: tuple[str, ...] = ()  # the participants' names, where a frontend shows them


@dataclass(frozen=True, slots=True)
class RelationshipView:
    """The current state of one directed relationship."""

    chat_id: str
    source_id: str
    source_kind: str
    source_name: str
    target_id: str
    target_kind: str
    target_name: str
    affinity: int
    trust: int
    note: str | None


@dataclass(frozen=True, slots=True)
class EventView:
    """An event of the log, for `/admin log` and `chronicle events`."""

    seq: int
    kind: str
    stream: str
    chat_id: str | None
    guild_id: str | None
    actor_id: str | None
    recorded_at: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat as a story command addresses it: its id and the chat stream's version it was decided at."""

    chat: ChatView
    version: int

    @property
    def chat_id(self) -> str:
        """The chat's id."""
        return self.chat.chat_id


@dataclass(frozen=True, slots=True)
class RespondResult:
    """What answering a person's line did: the line (None when it was already handled) and the replies."""

    line: MessageView | None
    replies: tuple[MessageView, ...] = ()


@dataclass(frozen=True, slots=True)
class RewindResult:
    """What a rewind did."""

    chat_id: str
    to_seq: int
    rewind_seq: int
    events_undone: int
    removed_messages: tuple[MessageView, ...]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The outcome of comparing live projections with a fresh rebuild."""

    tables_checked: int
    events: int
    differences: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """True when live state equals rebuilt state, row for row."""
        return not self.differences


@dataclass(frozen=True, slots=True)
class CardImportView:
    """What importing a card did: the character, the file's spec and format, and what came with it."""

    character: CharacterView
    spec: str
    source_format: str
    lore_entries: int
    has_image: bool
    replaced: bool


@dataclass(frozen=True, slots=True)
class CardExport:
    """A character's card as files: V3 JSON, and a PNG carrying `ccv3` and `chara` chunks."""

    name: str
    json_bytes: bytes
    png_bytes: bytes
    on_own_image: bool  # the PNG is the imported card's own image (else a generated one)


@dataclass(frozen=True, slots=True)
class LorebookView:
    """A standalone lorebook of a guild and what it is attached to."""

    book_id: str
    guild_id: str
    name: str
    author_id: str
    entries: int
    description: str | None = None
    characters: tuple[str, ...] = ()  # names of the characters it is attached to
    channels: tuple[str, ...] = ()  # channel ids of the open stories it is attached to


@dataclass(frozen=True, slots=True)
class CardBookView:
    """The lorebook inside a card of a story's character: in play, but changed only with the card."""

    character: str
    name: str
    entries: int


@dataclass(frozen=True, slots=True)
class LoreEntryView:
    """One entry of a book, by its number in the book."""

    book_id: str
    book_name: str
    number: int
    entry: LoreEntry


@dataclass(frozen=True, slots=True)
class TimelineView:
    """A story along in-story time (minutes from Day 1, 00:00): scenes, skips, meanwhiles and rewinds, in order.

    scenes: (title, place name, opened minute, closed minute or None); skips: (from minute, to minute,
    summary); meanwhiles: (minute, participant names, premise); rewinds: (minute the story went on from,
    events undone).
    """

    chat_id: str
    start_minute: int
    now_minute: int
    scenes: tuple[tuple[str, str, int, int | None], ...]
    skips: tuple[tuple[int, int, str], ...]
    meanwhiles: tuple[tuple[int, tuple[str, ...], str], ...]
    rewinds: tuple[tuple[int, int], ...]
