"""Card-text macros ({{char}}, {{user}}, {{random}}, {{pick}}, {{roll}}, {{// …}}, {{original}}).

Every random choice comes from the `rng` the caller passes, so the event layer can seed it and
replay stays deterministic. `{{pick}}` differs from `{{random}}` in that its choice depends only on
the seed and the macro itself (not on how many other random macros came before it).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field

from engine.cards.model import Card

MACRO = re.compile(r"\{\{((?:(?!\{\{|\}\}).)*)\}\}", re.DOTALL)  # innermost {{…}} first
COMMENT = re.compile(r"\{\{\s*//(?:(?!\{\{|\}\}).)*\}\}", re.DOTALL)
ORIGINAL = re.compile(r"\{\{\s*original\s*\}\}", re.IGNORECASE)
LEGACY = re.compile(r"<(bot|char|user)>", re.IGNORECASE)
DICE = re.compile(r"^\s*([0-9]*)\s*d\s*([0-9]+)\s*(?:([+-])\s*([0-9]+))?\s*$", re.IGNORECASE)  # digits 0-9
MAX_PASSES = 8
MAX_DICE, MAX_SIDES = 100, 1_000_000


@dataclass
class _Expansion:
    char: str
    user: str
    original: str
    rng: random.Random
    pick_base: int = 0
    picks_seen: dict[str, int] = field(default_factory=dict)

    def options(self, body: str) -> list[str]:
        """`a,b,c` or (after `random:`) `:a::b` option lists."""
        if body.startswith(":"):
            return body[1:].split("::")
        return body.split(",")

    def pick(self, body: str) -> str:
        """A choice fixed by the seed, the macro and its occurrence, not by earlier random draws."""
        occurrence = self.picks_seen.get(body, 0)
        self.picks_seen[body] = occurrence + 1
        options = self.options(body)
        digest = hashlib.sha256(f"{self.pick_base}:{body}:{occurrence}".encode()).digest()
        return options[int.from_bytes(digest[:8], "big") % len(options)]

    def roll(self, spec: str) -> str | None:
        """The total of `NdM(+/-K)` dice (or `M` for one die), or None when the spec is not dice."""
        match = DICE.match(spec) or DICE.match(f"d{spec}")
        if match is None:
            return None
        count, sides = int(match.group(1) or 1), int(match.group(2))
        if not (1 <= count <= MAX_DICE and 1 <= sides <= MAX_SIDES):
            return None
        total = sum(self.rng.randint(1, sides) for _ in range(count))
        modifier = int(match.group(4) or 0)
        return str(total - modifier if match.group(3) == "-" else total + modifier)

    def replace(self, match: re.Match[str]) -> str:
        """The expansion of one innermost macro; unknown ones stay as written."""
        inner = match.group(1).strip()
        if inner.startswith("//"):
            return ""
        if inner.lower().startswith("roll "):
            inner = "roll:" + inner[5:]
        name, sep, body = inner.partition(":")
        word = name.strip().lower()
        if not sep:
            return {"char": self.char, "user": self.user, "original": self.original}.get(word, match.group(0))
        result = None
        if word == "random":
            result = self.rng.choice(self.options(body))
        elif word == "pick":
            result = self.pick(body)
        elif word == "roll":
            result = self.roll(body)
        return match.group(0) if result is None else result


def expand_macros(text: str, *, char: str, user: str, original: str | None = None, rng: random.Random) -> str:
    """Expand card macros in `text`; unknown macros are left as they are."""
    expansion = _Expansion(char, user, original or "", rng, pick_base=rng.getrandbits(64))
    text = COMMENT.sub("", text)
    text = LEGACY.sub(lambda m: user if m.group(1).lower() == "user" else char, text)
    for _ in range(MAX_PASSES):
        expanded = MACRO.sub(expansion.replace, text)
        if expanded == text:
            break
        text = expanded
    return text


def with_original(text: str, default: str) -> str:
    """`text`, or `default` when it is empty; `{{original}}` in it stands for `default`."""
    if not text.strip():
        return default
    return ORIGINAL.sub(lambda _: default, text)


def effective_system_prompt(card: Card, default: str) -> str:
    """The card's system prompt, or `default` when it is empty; `{{original}}` in it stands for `default`."""
    return with_original(card.system_prompt, default)


def effective_post_history(card: Card, default: str) -> str:
    """The card's post-history instructions, or `default` when empty; `{{original}}` stands for `default`."""
    return with_original(card.post_history_instructions, default)


def display_name(card: Card) -> str:
    """The name the character goes by in prompts: its V3 nickname if set, else its name."""
    return card.nickname if card.nickname and card.nickname.strip() else card.name
