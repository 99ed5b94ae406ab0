"""Prompt building: card, personas, world, relationships and pinned memories, then one ranked budget for the
newest lines, recalled lines, memories and lore (engine/narrator/ranked.py), counted as the model counts
(engine/narrator/tokens.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from engine.cards.macros import expand_macros, with_original
from engine.llm.port import ChatMessage
from engine.narrator import ranked
from engine.narrator.context import PromptInputs
from engine.narrator.lore import LORE_SECONDS, NO_LORE, LoreReport
from engine.narrator.ranked import Candidate
from engine.narrator.tokens import ESTIMATE, MESSAGE_OVERHEAD, TokenCounter
from engine.storytime import format_clock
from engine.views import MessageView

DEFAULT_POST_HISTORY = ""  # Chronicle adds no instructions after the history unless a card asks for them
DEFAULT_SYSTEM = ("You are {{char}} in an ongoing roleplay story with {{user}}. Write only {{char}}'s next reply: "
                  "speech and actions, in character, a few sentences long. Never write lines for anyone else.")
SYSTEM_SHARE = 0.5   # the system part never takes more than this share of the prompt budget
PINNED_SHARE = 0.1   # pinned memories get at most this share (the inspector shows the cap)
FLOOR_SHARE = 0.25  # the newest lines always get at least this share of the room left for lines
POOL_SHARE = 0.75  # recalled lines, memories and lore together get at most this share of it; the rest goes to
# newer lines
Mode = Literal["reply", "continue"]


@dataclass(frozen=True)
class Budget:
    """The model's context, how much of it the reply needs, the model's token counter (and how long the prompt's
    lore may take)."""

    context_tokens: int
    reply_tokens: int
    lore_seconds: float = LORE_SECONDS
    counter: TokenCounter = field(default=ESTIMATE, compare=False)

    @property
    def prompt_tokens(self) -> int:
        """What the prompt may use: the context less the reply and the counter's safety margin."""
        room = self.context_tokens - self.reply_tokens
        return max(64, room - int(room * self.counter.margin))


@dataclass(frozen=True)
class Prompt:
    """Messages for the model, with each part's tokens (the prompt inspector shows these)."""

    messages: tuple[ChatMessage, ...]
    parts: tuple[tuple[str, int], ...]
    total_tokens: int
    budget_tokens: int
    stop: tuple[str, ...]
    lore: LoreReport = NO_LORE  # the entries in the prompt and every one dropped, with why
    candidates: tuple[Candidate, ...] = ()  # what competed for the ranked budget, kept or dropped with why
    counter: str = ""  # which token counter counted it


def card_text(text: str, inputs: PromptInputs, *, original: str = "") -> str:
    """Card text with its macros expanded: {{char}} is the nickname when set; random ones are seeded from the
    chat and its newest line, so the same prompt always reads the same."""
    c = inputs.character
    newest = inputs.history[-1].message_id if inputs.history else ""
    rng = random.Random(f"{inputs.chat.chat_id}:{newest}:{c.character_id}")
    return expand_macros(text, char=c.nickname or c.name, user=inputs.user_name, original=original, rng=rng)


def _card(inputs: PromptInputs) -> str:
    c = inputs.character
    lines = [f"# {c.name}", c.description]
    for label, value in (("Personality", c.personality), ("Scenario", c.scenario),
                         ("Example dialogue", c.example_dialogue)):
        if value.strip():
            lines.append(f"{label}: {value}")
    return card_text(with_original(c.system_prompt, DEFAULT_SYSTEM) + "\n\n" + "\n".join(lines), inputs)


def _people(inputs: PromptInputs, counter: TokenCounter) -> str:
    lines = [f"- {name}: {counter.truncate(desc, 120)}" if desc else f"- {name}" for name, desc in inputs.personas]
    lines += [f"- {o.name} (another character): {counter.truncate((o.description.splitlines() or [''])[0], 120)}"
              for o in inputs.others]
    return "# Who else is here\n" + "\n".join(lines) if lines else ""


def _world(inputs: PromptInputs) -> str:
    chat = inputs.chat
    lines = [f"Time: {format_clock(chat.story_minute)} ({chat.anchor}). Weather: {chat.weather}."]
    if inputs.place is not None:
        described = f" — {inputs.place.description}" if inputs.place.description else ""
        lines.append(f"Place: {inputs.place.name}{described}")
    if inputs.scene is not None:
        lines.append(f"Scene: {inputs.scene.title}.")
    if inputs.present:
        lines.append("Present: " + ", ".join(inputs.present) + ".")
    return "# The world now\n" + "\n".join(lines)


def _relationships(inputs: PromptInputs) -> str:
    name = inputs.character.name
    lines = []
    for r in inputs.relationships[:8]:
        other, direction = (r.target_name, "towards") if r.source_name == name else (r.source_name, "from")
        note = f" ({r.note})" if r.note else ""
        lines.append(f"- {direction} {other}: affinity {r.affinity:+d}, trust {r.trust:+d}{note}")
    return f"# How {name} stands with others\n" + "\n".join(lines) if lines else ""


def _pinned(inputs: PromptInputs, cap: int, counter: TokenCounter) -> tuple[str, int]:
    """The character's pinned memories that fit in `cap` tokens, oldest first, and how many fit."""
    header = f"# What {inputs.character.name} always keeps in mind"
    used, lines = counter.count(header) + 2, []
    for memory in inputs.pinned:
        line = f"- {memory.text}"
        cost = counter.count(line) + 1
        if used + cost > cap:
            continue
        lines.append(line)
        used += cost
    return (header + "\n" + "\n".join(lines) if lines else ""), len(lines)


def history_message(message: MessageView, character_id: str) -> ChatMessage:
    """One transcript line as a chat message, from the answering character's point of view."""
    if message.role == "narrator":
        return ChatMessage("user", f"[{message.text}]")
    if message.character_id == character_id:
        return ChatMessage("assistant", message.text)
    return ChatMessage("user", f"{message.speaker}: {message.text}")


class _History:
    """The transcript's lines as the answering character's chat messages, each counted once (newest first, only
    as far as asked)."""

    def __init__(self, inputs: PromptInputs, counter: TokenCounter) -> None:
        self._inputs, self._counter = inputs, counter
        self._seen: list[tuple[str, ChatMessage, int]] = []

    def newest(self, i: int) -> tuple[str, ChatMessage, int] | None:
        """The `i`-th newest line (0 is the newest): its id, its chat message and its tokens; None past the first."""
        history = self._inputs.history
        while len(self._seen) <= i and len(self._seen) < len(history):
            message = history[-1 - len(self._seen)]
            chat_message = history_message(message, self._inputs.character.character_id)
            self._seen.append((message.message_id, chat_message, self._counter.message(chat_message.content)))
        return self._seen[i] if i < len(self._seen) else None

    def fit(self, room: int) -> tuple[list[ChatMessage], set[str], int]:
        """The newest lines that fit in `room` tokens, oldest first (the newest is truncated if it alone is too
        big), their message ids and their tokens."""
        kept: list[ChatMessage] = []
        ids: set[str] = set()
        used = 0
        while (line := self.newest(len(kept))) is not None:
            message_id, chat_message, cost = line
            if cost > room - used:
                if not kept and room > MESSAGE_OVERHEAD + 8:
                    content = self._counter.truncate(chat_message.content, room - MESSAGE_OVERHEAD)
                    kept.append(ChatMessage(chat_message.role, content))
                    ids.add(message_id)
                    used += self._counter.message(content)
                break
            kept.append(chat_message)
            ids.add(message_id)
            used += cost
        return kept[::-1], ids, used


@dataclass(frozen=True)
class _Lines:
    """The ranked budget's outcome: the newest lines, the pool's sections, every candidate's fate, their tokens."""

    history: list[ChatMessage]
    sections: dict[str, str]
    candidates: tuple[Candidate, ...]
    history_tokens: int


def _lines_and_pool(inputs: PromptInputs, room: int, counter: TokenCounter) -> _Lines:
    """One budget: a floor of the newest lines, then recalled lines, memories and lore by relevance (at most
    POOL_SHARE), then newer lines again with what the pool left; a recalled line that ends up among the newest is
    not repeated (its room goes to the next candidates)."""
    lines = _History(inputs, counter)
    _, floor_ids, floor_cost = lines.fit(int(room * FLOOR_SHARE))
    heads = ranked.headers(inputs)
    pool = ranked.items(inputs, ranked.query_of(inputs), counter)
    _, _, reserved = ranked.choose(pool, min(int(room * POOL_SHARE), room - floor_cost - 2), counter, heads,
                                   floor_ids, fates_too=False)
    history, ids, history_tokens = lines.fit(room - (reserved + 2 if reserved else 0))
    kept, fates, _ = ranked.choose(pool, reserved, counter, heads, ids)
    return _Lines(history, ranked.sections(kept, heads), tuple(fates), history_tokens)


STOP_FORMS = ("\n{}:", "\n**{}**:", "\n**{}:**", "\n*{}*:", "\n{} :")  # a line starting someone else's turn


def stop_strings(inputs: PromptInputs) -> tuple[str, ...]:
    """Lines that start with someone else's name (a person's or another cast member's, plain or in the common
    markdown variants) end the reply: the plain forms first (a server takes only the first few; the client cuts at
    every one)."""
    names = [name for name, _ in inputs.personas] + [o.name for o in inputs.others]
    others = [name for name in names if name != inputs.character.name]
    return tuple(dict.fromkeys(form.format(name) for form in STOP_FORMS for name in others))


def turn_nudge(inputs: PromptInputs) -> ChatMessage | None:
    """In a group story (three or more characters), a last word naming whose turn it is."""
    if len(inputs.others) < 2:
        return None
    name = inputs.character.name
    return ChatMessage("system", f"(It is {name}'s turn. Write only {name}'s reply; never write lines for "
                                 f"{', '.join(o.name for o in inputs.others)} or the people in the story.)")


def _system_parts(inputs: PromptInputs, limit: int, counter: TokenCounter) -> dict[str, str]:
    """The system message's fixed parts (card, people, world, relationships, pinned memories), within their caps."""
    system_cap = int(limit * SYSTEM_SHARE)
    people, world, relations = _people(inputs, counter), _world(inputs), _relationships(inputs)
    fixed = sum(counter.count(t) for t in (people, world, relations)) + MESSAGE_OVERHEAD + 8
    pinned, pins = _pinned(inputs, int(limit * PINNED_SHARE), counter)
    return {"card": counter.truncate(_card(inputs), max(32, system_cap - fixed)),
            "people": counter.truncate(people, system_cap // 4), "world": world,
            "relationships": counter.truncate(relations, system_cap // 4),
            f"pinned ({pins} of {len(inputs.pinned)}, cap {int(limit * PINNED_SHARE)} tokens)": pinned}


def _instructions(inputs: PromptInputs, limit: int, mode: Mode, counter: TokenCounter) -> list[ChatMessage]:
    """What follows the history: a card's post-history instructions, then a continuation's or a turn's word."""
    instructions = []
    post = with_original(inputs.character.post_history_instructions, DEFAULT_POST_HISTORY).strip()
    if post:
        instructions.append(ChatMessage("system", counter.truncate(
            card_text(post, inputs, original=DEFAULT_POST_HISTORY), limit // 10)))
    if mode == "continue":
        instructions.append(ChatMessage("user", f"(Continue {inputs.character.name}'s last reply from where it "
                                                "stopped. Do not repeat it.)"))
    elif (nudge := turn_nudge(inputs)) is not None:
        instructions.append(nudge)
    return instructions


def build_reply_prompt(inputs: PromptInputs, budget: Budget, *, mode: Mode = "reply") -> Prompt:
    """The prompt for the character's next reply (or its continuation), never over budget."""
    counter, limit = budget.counter, budget.prompt_tokens
    fixed = _system_parts(inputs, limit, counter)
    instructions = _instructions(inputs, limit, mode, counter)
    instruction_cost = sum(counter.message(m.content) for m in instructions)
    head = "\n\n".join(part for part in fixed.values() if part)
    room = limit - counter.message(head) - 2 - instruction_cost
    lines = _lines_and_pool(inputs, room, counter)
    pooled = [lines.sections.get(s, "") for s in ranked.SECTIONS]
    system = "\n\n".join(part for part in (head, *pooled) if part)
    kept = {s: sum(c.kept for c in lines.candidates if c.section == s) for s in ranked.SECTIONS}
    parts = (*((name, counter.count(text)) for name, text in fixed.items()),
             ("memories", counter.count(pooled[1])), (f"lore ({kept['lore']} entries)", counter.count(pooled[2])),
             (f"recall ({kept['recall']} older lines)", counter.count(pooled[0])),
             (f"history ({len(lines.history)} of {len(inputs.history)} lines)", lines.history_tokens),
             ("instructions", instruction_cost))
    messages = (ChatMessage("system", system), *lines.history, *instructions)
    total = counter.message(system) + lines.history_tokens + instruction_cost
    return Prompt(messages, parts, total, limit, stop_strings(inputs), inputs.lore, lines.candidates,
                  counter.label())


def build_task_prompt(task: str, lines: list[MessageView], budget: Budget) -> Prompt:
    """A narrator task (scene summary, time skip, off-screen scene) over the newest lines that fit."""
    counter, limit = budget.counter, budget.prompt_tokens
    system = counter.truncate(task, limit // 4)
    room = limit - 2 * counter.message(system) - MESSAGE_OVERHEAD - 8
    excerpt: list[str] = []
    for message in reversed(lines):
        line = f"{message.speaker}: {message.text}" if message.role != "narrator" else f"[{message.text}]"
        cost = counter.count(line) + 1
        if cost > room:
            break
        excerpt.append(line)
        room -= cost
    body = "\n".join(reversed(excerpt)) or "(nothing has happened yet)"
    # Small models follow the instruction nearest the end: the story first, then the task again.
    messages = (ChatMessage("system", system), ChatMessage("user", f"The story so far:\n{body}\n\n{system}"))
    total = sum(counter.message(m.content) for m in messages)
    return Prompt(messages, (("task", counter.message(system)), (f"story ({len(excerpt)} lines)",
                                                                 counter.message(body))), total, limit, (),
                  counter=counter.label())
