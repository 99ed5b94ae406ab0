"""The `director` turn rule's question to the model: who, of the members who may speak, speaks next.

A short classification call: the story's newest lines, the names it may answer with, and an answer of a name only.
What the model said is stored in the reply's turn (engine/turns.py matches it to a member, or falls back to
`natural`); a failed call is an answer of nobody. Replaying the log never asks again.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from engine import queries
from engine.errors import NarratorUnavailable
from engine.narrator.generation import Writing
from engine.narrator.prompt import build_task_prompt
from engine.turns import Member
from engine.views import ChatView, MessageView

log = structlog.get_logger(__name__)
DIRECTOR_LINES = 20  # the newest lines the director reads
ANSWER_TOKENS = 16  # a name, and little room to say more
ANSWER_CHARS = 200  # what is read of an answer that runs on


def director_task(candidates: Sequence[Member]) -> str:
    """The director's instruction, naming the members it may choose from."""
    names = ", ".join(m.name for m in candidates)
    return ("You direct a group roleplay. Decide which character should speak next, given the story so far. "
            f"Answer with exactly one name from this list and nothing else: {names}.")


async def ask_director(writing: Writing, chat: ChatView, said: MessageView,
                       candidates: Sequence[Member]) -> str | None:
    """The model's answer to who speaks next (its raw text), or None when it could not answer."""
    if writing.model is None or not candidates:
        return None
    lines = await writing.db.read(lambda c: queries.list_messages(c, chat.chat_id, limit=DIRECTOR_LINES,
                                                                  before_seq=said.seq + 1))
    prompt = build_task_prompt(director_task(candidates), lines, writing.budget)
    pieces: list[str] = []
    try:
        async with writing.slot():
            async for chunk in writing.model.stream(prompt.messages, stop=("\n",), max_tokens=ANSWER_TOKENS):
                pieces.append(chunk.text)
                if sum(map(len, pieces)) > ANSWER_CHARS:
                    break
    except NarratorUnavailable as exc:
        log.warning("director_unavailable", chat_id=chat.chat_id, error=str(exc))
        return None
    return "".join(pieces).strip()[:ANSWER_CHARS] or None
