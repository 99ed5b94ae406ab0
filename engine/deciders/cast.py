"""Deciders for a story's cast: who joins, leaves, stops and resumes speaking, and the rule for who speaks next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands import (
    AddToCast,
    Command,
    EnterScene,
    LeaveScene,
    MuteCastMember,
    NudgeCharacter,
    RemoveFromCast,
    SetTurnRule,
    SomeoneElse,
    UnmuteCastMember,
)
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.errors import DomainError, NotFound
from engine.events import (
    MAX_CHARACTERS_PER_CHAT,
    CastJoined,
    CastLeft,
    CastMuted,
    CastUnmuted,
    ReplyRecorded,
    SceneEntered,
    SceneLeft,
    TurnRuleSet,
)
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.turns import nudged
from engine.views import CharacterView, ChatView, SceneView

CastCommand = (AddToCast | RemoveFromCast | MuteCastMember | UnmuteCastMember | NudgeCharacter | SomeoneElse
               | EnterScene | LeaveScene)


@dataclass(frozen=True)
class CastState:
    """The command's chat and the character it names (None: no such character in the server)."""

    chat: ChatView | None
    card: CharacterView | None


def load_cast(world: Conn, cmd: CastCommand) -> CastState:
    """The chat with its cast, and the named character (retired ones only when they are in the cast: a retired
    member can still leave or be muted)."""
    chat = load_chat(world, cmd)
    card = queries.find_character(world, cmd.actor.guild_id, cmd.character)
    if card is None and chat is not None:
        members = queries.find_characters_by_ids(world, chat.character_ids)
        card = next((c for c in members if c.name.casefold() == cmd.character.casefold()), None)
    return CastState(chat, card)


def _named(state: CastState, cmd: CastCommand) -> tuple[ChatView, CharacterView]:
    chat = story_chat(state.chat, cmd)
    if state.card is None:
        raise NotFound(f"There is no character named '{cmd.character[:64]}' in this server. See /character list.")
    return chat, state.card


def _member(state: CastState, cmd: CastCommand) -> tuple[ChatView, CharacterView]:
    chat, card = _named(state, cmd)
    if card.character_id not in chat.character_ids:
        raise DomainError(f"{card.name} is not in this story's cast. See /chat cast list.")
    return chat, card


def decide_add_to_cast(cmd: AddToCast, state: CastState, ctx: Context) -> list[NewEvent]:
    """An active character not yet in the cast joins it, while the cast has room."""
    chat, card = _named(state, cmd)
    if card.character_id in chat.character_ids:
        raise DomainError(f"{card.name} is already in this story's cast.")
    if len(chat.character_ids) >= MAX_CHARACTERS_PER_CHAT:
        raise DomainError(f"This story's cast is full ({MAX_CHARACTERS_PER_CHAT} characters). "
                          "Take someone out with /chat cast remove first.")
    return emit(cmd.actor, CastJoined(chat_id=chat.chat_id, character_id=card.character_id))


def _not_last_speaker(chat: ChatView, card: CharacterView) -> None:
    """Refuse taking away the one member who can speak (the others muted or away from the open scene)."""
    if chat.speakers == (card.character_id,):
        raise DomainError(f"{card.name} is the only one in the cast who speaks; unmute or add someone first.")


def decide_remove_from_cast(cmd: RemoveFromCast, state: CastState, ctx: Context) -> list[NewEvent]:
    """A member leaves, unless it is the last one, or the last who can speak (a story needs someone to speak)."""
    chat, card = _member(state, cmd)
    if len(chat.character_ids) == 1:
        raise DomainError(f"{card.name} is the only character in this story; add another with /chat cast add "
                          "first, or end the story with /chat end.")
    _not_last_speaker(chat, card)
    return emit(cmd.actor, CastLeft(chat_id=chat.chat_id, character_id=card.character_id))


def decide_mute_cast_member(cmd: MuteCastMember, state: CastState, ctx: Context) -> list[NewEvent]:
    """A speaking member is muted, unless it is the last one who speaks."""
    chat, card = _member(state, cmd)
    if card.character_id in chat.muted:
        raise DomainError(f"{card.name} is already muted. /chat cast unmute lets it speak again.")
    _not_last_speaker(chat, card)
    return emit(cmd.actor, CastMuted(chat_id=chat.chat_id, character_id=card.character_id))


def decide_unmute_cast_member(cmd: UnmuteCastMember, state: CastState, ctx: Context) -> list[NewEvent]:
    """A muted member may speak again."""
    chat, card = _member(state, cmd)
    if card.character_id not in chat.muted:
        raise DomainError(f"{card.name} is not muted.")
    return emit(cmd.actor, CastUnmuted(chat_id=chat.chat_id, character_id=card.character_id))


def decide_nudge_character(cmd: NudgeCharacter, state: CastState, ctx: Context) -> list[NewEvent]:
    """A speaking member's reply, written because a person asked for it."""
    chat, card = _member(state, cmd)
    refuse_silent(chat, card)
    return emit(cmd.actor, ReplyRecorded(chat_id=chat.chat_id, message_id=ctx.new_id("msg"),
                                         character_id=card.character_id, character_name=card.name, text=cmd.text,
                                         discord_message_ids=cmd.discord_message_ids, turn=nudged(chat.turn_rule)))


def refuse_silent(chat: ChatView, card: CharacterView) -> None:
    """Refuse a member who can't be asked to speak: muted, or away from the open scene (it would answer what it
    never heard)."""
    if card.character_id in chat.muted:
        raise DomainError(f"{card.name} is muted in this story. /chat cast unmute lets it speak again.")
    if card.character_id in chat.absent:
        raise DomainError(f"{card.name} is away from the scene. /scene enter character:{card.name} brings it back "
                          "first.")


def decide_someone_else(cmd: SomeoneElse, state: CastState, ctx: Context) -> list[NewEvent]:
    """The reply of the member the narrator chose to answer instead of the one who just spoke, with its turn."""
    chat, card = _member(state, cmd)
    if card.character_id not in chat.speakers:
        raise DomainError(f"{card.name} can't speak now (muted, or away from the scene).")
    return emit(cmd.actor, ReplyRecorded(chat_id=chat.chat_id, message_id=ctx.new_id("msg"),
                                         character_id=card.character_id, character_name=card.name, text=cmd.text,
                                         discord_message_ids=cmd.discord_message_ids, turn=cmd.turn))


def decide_set_turn_rule(cmd: SetTurnRule, chat: ChatView | None, ctx: Context) -> list[NewEvent]:
    """The open chat takes the rule, unless it already has it."""
    chat = story_chat(chat, cmd)
    if chat.turn_rule == cmd.rule:
        raise DomainError(f"This story already picks who speaks next by '{cmd.rule}'.")
    return emit(cmd.actor, TurnRuleSet(chat_id=chat.chat_id, rule=cmd.rule))


@dataclass(frozen=True)
class PresenceState:
    """The chat with its cast, the named character and the open scene."""

    cast: CastState
    scene: SceneView | None


def load_presence(world: Conn, cmd: EnterScene | LeaveScene) -> PresenceState:
    """The chat, the character and the chat's open scene."""
    cast = load_cast(world, cmd)
    chat = cast.chat
    scene = queries.find_scene(world, chat.active_scene_id) if chat and chat.active_scene_id else None
    return PresenceState(cast, scene)


def _scene_member(state: PresenceState, cmd: EnterScene | LeaveScene) -> tuple[ChatView, CharacterView, SceneView]:
    chat, card = _member(state.cast, cmd)
    if state.scene is None:
        raise DomainError("No scene is open. Open one with /scene open.")
    return chat, card, state.scene


def decide_enter_scene(cmd: EnterScene, state: PresenceState, ctx: Context) -> list[NewEvent]:
    """A cast member away from the open scene comes into it."""
    chat, card, scene = _scene_member(state, cmd)
    if card.character_id in scene.present:
        raise DomainError(f"{card.name} is already in {scene.title}.")
    return emit(cmd.actor, SceneEntered(chat_id=chat.chat_id, scene_id=scene.scene_id, character_id=card.character_id))


def decide_leave_scene(cmd: LeaveScene, state: PresenceState, ctx: Context) -> list[NewEvent]:
    """A cast member in the open scene leaves it, unless it is the last one who could speak there."""
    chat, card, scene = _scene_member(state, cmd)
    if card.character_id not in scene.present:
        raise DomainError(f"{card.name} is not in {scene.title}. /scene enter brings it in.")
    if not [i for i in chat.speakers if i in scene.present and i != card.character_id]:
        raise DomainError(f"{card.name} is the last one in {scene.title} who speaks; bring someone in first.")
    return emit(cmd.actor, SceneLeft(chat_id=chat.chat_id, scene_id=scene.scene_id, character_id=card.character_id))


DECIDERS: dict[type[Command[Any]], Decider[Any, Any]] = {
    AddToCast: Decider(load_cast, decide_add_to_cast),
    RemoveFromCast: Decider(load_cast, decide_remove_from_cast),
    MuteCastMember: Decider(load_cast, decide_mute_cast_member),
    UnmuteCastMember: Decider(load_cast, decide_unmute_cast_member),
    SetTurnRule: Decider(load_chat, decide_set_turn_rule),
    NudgeCharacter: Decider(load_cast, decide_nudge_character),
    SomeoneElse: Decider(load_cast, decide_someone_else),
    EnterScene: Decider(load_presence, decide_enter_scene),
    LeaveScene: Decider(load_presence, decide_leave_scene),
}
