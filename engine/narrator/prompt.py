"""Prompt building: card, personas, world, relationships, memories, then recent lines, within a budget."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from engine.cards.macros import expand_macros, with_original
from engine.llm.port import ChatMessage
from engine.narrator.context import PromptInputs
from engine.narrator.lore import LORE_SECONDS, NO_LORE, LoreReport
from engine.narrator.recall import recalled_text
from engine.narrator.tokens import MESSAGE_OVERHEAD, estimate_tokens, message_tokens, truncate_to
from engine.storytime import format_clock
from engine.views import MessageView

DEFAULT_POST_HISTORY = ""  # Chronicle adds no instructions after the history unless a card asks for them
DEFAULT_SYSTEM = ("You are {{char}} in an ongoing roleplay story with {{user}}. Write only {{char}}'s next reply: "
                  "speech and actions, in character, a few sentences long. Never write lines for anyone else.")
SYSTEM_SHARE = 0.5   # the system part never takes more than this share of the prompt budget
MEMORY_SHARE = 0.2   # memories get at most this share
PINNED_SHARE = 0.1   # pinned memories get at most this share (the inspector shows the cap)
FLOOR_SHARE = 0.25  # the newest lines always get at least this share of the room left for lines
RECALL_SHARE = 0.75  # recalled older lines get at most this share of it; what they leave goes to newer lines
Mode = Literal["reply", "continue"]


@dataclass(frozen=True)
class Budget:
    """The model's context and how much of it the reply needs (and how long the prompt's lore may take)."""

    context_tokens: int
    reply_tokens: int
    lore_seconds: float = LORE_SECONDS

    @property
    def prompt_tokens(self) -> int:
        """What the prompt may use."""
        return max(64, self.context_tokens - self.reply_tokens)


@dataclass(frozen=True)
class Prompt:
    """Messages for the model, with each part's estimated tokens (the prompt inspector shows these)."""

    messages: tuple[ChatMessage, ...]
    parts: tuple[tuple[str, int], ...]
    total_tokens: int
    budget_tokens: int
    stop: tuple[str, ...]
    lore: LoreReport = NO_LORE  # the entries in the prompt and every one dropped, with why


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


def _people(inputs: PromptInputs) -> str:
    lines = [f"- {name}: {truncate_to(desc, 120)}" if desc else f"- {name}" for name, desc in inputs.personas]
    lines += [f"- {o.name} (another character): {truncate_to((o.description.splitlines() or [''])[0], 120)}"
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


def _memories(inputs: PromptInputs, budget: int) -> str:
    header = f"# What {inputs.character.name} remembers"
    used, lines = estimate_tokens(header) + 2, []
    for memory in inputs.memories:
        line = f"- {memory.text}"
        cost = estimate_tokens(line) + 1
        if used + cost > budget:
            continue
        lines.append(line)
        used += cost
    return header + "\n" + "\n".join(lines) if lines else ""


def _pinned(inputs: PromptInputs, cap: int) -> tuple[str, int]:
    """The character's pinned memories that fit in `cap` tokens, oldest first, and how many fit."""
    header = f"# What {inputs.character.name} always keeps in mind"
    used, lines = estimate_tokens(header) + 2, []
    for memory in inputs.pinned:
        line = f"- {memory.text}"
        cost = estimate_tokens(line) + 1
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


def _fit_history(inputs: PromptInputs, room: int) -> tuple[list[ChatMessage], set[str]]:
    """The newest lines that fit in `room` tokens, oldest first (the newest is truncated if it alone is too big),
    and their message ids."""
    kept: list[ChatMessage] = []
    ids: set[str] = set()
    for message in reversed(inputs.history):
        chat_message = history_message(message, inputs.character.character_id)
        cost = message_tokens(chat_message.content)
        if cost > room:
            if not kept and room > MESSAGE_OVERHEAD + 8:
                kept.append(ChatMessage(chat_message.role, truncate_to(chat_message.content, room - MESSAGE_OVERHEAD)))
                ids.add(message.message_id)
            break
        kept.append(chat_message)
        ids.add(message.message_id)
        room -= cost
    return kept[::-1], ids


def _recall_section(inputs: PromptInputs, room: int, skip: set[str]) -> tuple[str, int, int]:
    """The recalled lines that fit in `room` tokens (best first, shown in story order, none of `skip`), as a
    section of the system message, how many, and the tokens counted for them (at least the section's estimate)."""
    header = f"# What {inputs.character.name} recalls (older lines, with when they were said)"
    used, picked = estimate_tokens(header) + 2, []
    for recalled in inputs.recalled:
        if recalled.message.message_id in skip:
            continue
        line = recalled_text(recalled.message)
        cost = estimate_tokens(line) + 1
        if used + cost <= room:
            picked.append((recalled.message.seq, line))
            used += cost
    if not picked:
        return "", 0, 0
    return header + "\n" + "\n".join(line for _, line in sorted(picked)), len(picked), used


def _lines_and_recall(inputs: PromptInputs, room: int) -> tuple[list[ChatMessage], str, int]:
    """One budget for lines: a floor of the newest, then recalled lines (at most RECALL_SHARE), then newer lines
    again with what recall left; a recalled line that ends up among the newest is not repeated."""
    floor, floor_ids = _fit_history(inputs, int(room * FLOOR_SHARE))
    floor_cost = sum(message_tokens(m.content) for m in floor)
    _, _, reserved = _recall_section(inputs, min(int(room * RECALL_SHARE), room - floor_cost - 2), floor_ids)
    history, ids = _fit_history(inputs, room - (reserved + 2 if reserved else 0))
    recall, count, _ = _recall_section(inputs, reserved, ids)
    return history, recall, count


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


def build_reply_prompt(inputs: PromptInputs, budget: Budget, *, mode: Mode = "reply") -> Prompt:
    """The prompt for the character's next reply (or its continuation), never over budget."""
    limit = budget.prompt_tokens
    system_cap = int(limit * SYSTEM_SHARE)
    people, world, relations = _people(inputs), _world(inputs), _relationships(inputs)
    fixed = sum(estimate_tokens(t) for t in (people, world, relations)) + MESSAGE_OVERHEAD + 8
    card = truncate_to(_card(inputs), max(32, system_cap - fixed))
    people, relations = truncate_to(people, system_cap // 4), truncate_to(relations, system_cap // 4)
    pin_cap = int(limit * PINNED_SHARE)
    pinned, pins = _pinned(inputs, pin_cap)
    memories = _memories(inputs, int(limit * MEMORY_SHARE))
    lore = inputs.lore.text
    system = "\n\n".join(part for part in (card, people, world, relations, pinned, memories, lore) if part)
    instructions = []
    post = with_original(inputs.character.post_history_instructions, DEFAULT_POST_HISTORY).strip()
    if post:
        instructions.append(ChatMessage("system", truncate_to(card_text(post, inputs, original=DEFAULT_POST_HISTORY),
                                                              limit // 10)))
    if mode == "continue":
        instructions.append(ChatMessage("user", f"(Continue {inputs.character.name}'s last reply from where it "
                                                "stopped. Do not repeat it.)"))
    elif (nudge := turn_nudge(inputs)) is not None:
        instructions.append(nudge)
    instruction_cost = sum(message_tokens(m.content) for m in instructions)
    history, recall, recalled = _lines_and_recall(inputs, limit - message_tokens(system) - instruction_cost)
    system = system + "\n\n" + recall if recall else system
    system_cost = message_tokens(system)
    history_cost = sum(message_tokens(m.content) for m in history)
    parts = (("card", estimate_tokens(card)), ("people", estimate_tokens(people)), ("world", estimate_tokens(world)),
             ("relationships", estimate_tokens(relations)),
             (f"pinned ({pins} of {len(inputs.pinned)}, cap {pin_cap} tokens)", estimate_tokens(pinned)),
             ("memories", estimate_tokens(memories)),
             (f"lore ({len(inputs.lore.active)} entries)", estimate_tokens(lore)),
             (f"recall ({recalled} older lines)", estimate_tokens(recall)),
             (f"history ({len(history)} of {len(inputs.history)} lines)", history_cost),
             ("instructions", instruction_cost))
    messages = (ChatMessage("system", system), *history, *instructions)
    total = system_cost + history_cost + instruction_cost
    return Prompt(messages, parts, total, limit, stop_strings(inputs), inputs.lore)


def build_task_prompt(task: str, lines: list[MessageView], budget: Budget) -> Prompt:
    """A narrator task (scene summary, time skip, off-screen scene) over the newest lines that fit."""
    limit = budget.prompt_tokens
    system = truncate_to(task, limit // 4)
    room = limit - 2 * message_tokens(system) - MESSAGE_OVERHEAD - 8
    excerpt: list[str] = []
    for message in reversed(lines):
        line = f"{message.speaker}: {message.text}" if message.role != "narrator" else f"[{message.text}]"
        cost = estimate_tokens(line) + 1
        if cost > room:
            break
        excerpt.append(line)
        room -= cost
    body = "\n".join(reversed(excerpt)) or "(nothing has happened yet)"
    # Small models follow the instruction nearest the end: the story first, then the task again.
    messages = (ChatMessage("system", system), ChatMessage("user", f"The story so far:\n{body}\n\n{system}"))
    total = sum(message_tokens(m.content) for m in messages)
    return Prompt(messages, (("task", message_tokens(system)), (f"story ({len(excerpt)} lines)",
                                                                 message_tokens(body))), total, limit, ())
