"""The story's opening line: the host's chosen greeting (also when swiped before anyone speaks).

Any random macro in a greeting ({{random}}, {{pick}}, {{roll}}) is decided when its event is written (seeded from
the chat's id, or a fresh id for a swipe), so replaying the log shows the same text.
"""

from __future__ import annotations

import random

from engine.cards.macros import expand_macros
from engine.deciders.characters import greeting_choices
from engine.errors import InvalidInput
from engine.events import REPLY_MAX
from engine.views import CharacterView


def greeting_text(card: CharacterView, number: int, *, user: str, seed: str, group: bool = False) -> str:
    """Greeting `number` with its macros expanded ({{char}} is the nickname when set)."""
    choices = greeting_choices(card, group=group)
    if not 1 <= number <= len(choices):
        raise InvalidInput(f"greeting: {card.name} has {len(choices)} greeting(s); pick 1 to {len(choices)}.")
    text = expand_macros(choices[number - 1], char=card.nickname or card.name, user=user, rng=random.Random(seed))
    return text.strip()[:REPLY_MAX]
