"""Deciders for importing whole character cards and for swiping the opening greeting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import queries
from engine.commands_cards import ImportCard, SwipeGreeting
from engine.deciders.base import Context, Decider, emit, load_chat, story_chat
from engine.deciders.characters import require_author
from engine.deciders.story import STALE_REPLY, latest_reply
from engine.errors import DomainError
from engine.events import BotAuthored, ReplyRegenerated
from engine.names import look_alike
from engine.storage.port import Conn
from engine.store import NewEvent
from engine.views import CharacterView, ChatView, MessageView

SPOKEN = "Someone has already spoken in this story, so its opening greeting can't be changed any more."


def greeting_choices(card: CharacterView, *, group: bool = False) -> tuple[str, ...]:
    """The greetings a story can open with, numbered from 1: the card's first message, its alternate
    greetings, then (in a story with a guest) its group-only greetings."""
    return (card.greeting, *card.alternate_greetings, *(card.group_greetings if group else ()))


def card_name(cmd: ImportCard) -> str:
    """The name the card is imported under."""
    return cmd.new_name or cmd.card.name


def load_import_card(world: Conn, cmd: ImportCard) -> CharacterView | None:
    """The active character that already has the name, or one that looks like it, if any."""
    return queries.find_character(world, cmd.actor.guild_id, card_name(cmd))


def decide_import_card(cmd: ImportCard, taken: CharacterView | None, ctx: Context) -> list[NewEvent]:
    """A new character from a whole card; a name in use needs `replace` (by its author or an admin)."""
    card = cmd.card if cmd.new_name is None else cmd.card.model_copy(update={"name": cmd.new_name})
    if taken is None:
        return emit(cmd.actor, BotAuthored(character_id=ctx.new_id("chr"), guild_id=cmd.actor.guild_id, card=card,
                                           avatar_url=cmd.avatar_url, avatar=cmd.avatar,
                                           author_id=cmd.actor.user_id))
    if not cmd.replace:
        if taken.name != card.name.strip():
            raise look_alike(card.name, taken.name, "character", "import it with name:… to give it a name that "
                             "reads differently, or with replace:true to replace that card")
        raise DomainError(f"A character named '{taken.name}' already exists here. Import again with replace:true to "
                          f"replace its card, or with name:… to import this one under another name.")
    require_author(taken, cmd, "replace")
    return emit(cmd.actor, BotAuthored(character_id=taken.character_id, guild_id=taken.guild_id, card=card,
                                       avatar_url=cmd.avatar_url or taken.avatar_url, avatar=cmd.avatar,
                                       author_id=taken.author_id))


@dataclass(frozen=True)
class GreetingState:
    """The chat, its newest line and its newest person line."""

    chat: ChatView | None
    newest: MessageView | None
    newest_person: MessageView | None


def load_swipe_greeting(world: Conn, cmd: SwipeGreeting) -> GreetingState:
    """What swiping the greeting depends on."""
    return GreetingState(load_chat(world, cmd), queries.nth_last_message(world, cmd.chat_id, 1),
                         queries.newest_person_line(world, cmd.chat_id))


def decide_swipe_greeting(cmd: SwipeGreeting, state: GreetingState, ctx: Context) -> list[NewEvent]:
    """The opening reply, at the revision the person saw, becomes another greeting while nobody has spoken."""
    chat = story_chat(state.chat, cmd)
    if state.newest_person is not None:
        raise DomainError(SPOKEN)
    reply = latest_reply(state.newest)
    if reply.message_id != cmd.message_id or reply.revision != cmd.expected_revision:
        raise DomainError(STALE_REPLY)
    ids = cmd.discord_message_ids or list(reply.discord_ids)
    return emit(cmd.actor, ReplyRegenerated(chat_id=chat.chat_id, message_id=reply.message_id, text=cmd.text,
                                            discord_message_ids=ids))


DECIDERS: dict[type, Decider[Any, Any]] = {
    ImportCard: Decider(load_import_card, decide_import_card),
    SwipeGreeting: Decider(load_swipe_greeting, decide_swipe_greeting),
}
