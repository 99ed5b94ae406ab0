"""The lore rules: a book goes on the story (its starter or an admin) or on a character (its author or an admin),
once; it comes off only where it is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engine.commands import AttachLorebook, DetachLorebook
from engine.deciders.lore import AttachState
from engine.errors import DomainError, NotFound, PermissionDenied
from engine.views import LorebookView
from tests.engine.deciders.test_rules import ADMIN, CHAT, MEMBER, STARTER, card, decide, in_chat

BOOK = LorebookView(book_id="book_1", guild_id="g", name="Eldoria", author_id=MEMBER.user_id, entries=2)
ON_STORY = AttachState(BOOK, CHAT, None, ())
ARIA = replace(card("chr_aria", "Aria"), author_id=STARTER.user_id)


@pytest.mark.parametrize(("cmd_type", "actor", "state", "outcome"), [
    (AttachLorebook, STARTER, ON_STORY, {"chat_id": "chat_1"}),
    (AttachLorebook, ADMIN, ON_STORY, {"chat_id": "chat_1"}),
    (AttachLorebook, MEMBER, ON_STORY, "Only the person who started this story"),
    (AttachLorebook, STARTER, replace(ON_STORY, attached=("book_1",)), "already attached to this story"),
    (AttachLorebook, STARTER, replace(ON_STORY, book=None), "Eldoria"),
    (AttachLorebook, STARTER, AttachState(BOOK, None, ARIA, ()), {"character_id": "chr_aria"}),
    (AttachLorebook, MEMBER, AttachState(BOOK, None, ARIA, ()), "Only Aria's author or a server admin"),
    (DetachLorebook, STARTER, replace(ON_STORY, attached=("book_1",)), {"chat_id": "chat_1"}),
    (DetachLorebook, STARTER, ON_STORY, "is not attached to this story"),
    (DetachLorebook, ADMIN, AttachState(BOOK, None, ARIA, ("book_1",)), {"character_id": "chr_aria"}),
])
def test_a_book_goes_on_a_story_or_a_character_once(cmd_type: type[Any], actor: Any, state: AttachState,
                                                     outcome: dict[str, str] | str) -> None:
    fields = {"character": "Aria"} if state.character is not None else {}
    cmd = in_chat(cmd_type, actor=actor, book="Eldoria", **fields)
    if isinstance(outcome, dict):
        [event] = decide(cmd, state)
        assert event.book_id == "book_1" and all(getattr(event, k) == v for k, v in outcome.items())
    else:
        with pytest.raises((PermissionDenied, DomainError, NotFound), match=outcome):
            decide(cmd, state)
