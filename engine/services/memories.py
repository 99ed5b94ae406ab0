"""Automatic memories: the narrator's summary of each passage of a story, written in the background.

A passage is due when `lines` witnessed lines have left the recent window (the newest `lines` lines) since the
chat's summarised-through marker, and when a scene closes or time skips (then whatever was said since the marker,
if it is at least a few lines). Characters who witnessed the same lines of it share one summary; a character
never remembers a passage of lines it did not witness (engine/projection/witness.py).

The summary is written off the reply path: a task per chat, started after a story command is recorded, never
awaited by it, and never holding one of the replies' generation slots. What it wrote is recorded in the chat's
turn, as an ordinary command (`RecordPassageMemories`), whose decider refuses a passage that was summarised
already or changed meanwhile; the marker is projected from the recorded memories, so a restart or a reproject
neither summarises a passage twice nor skips one, and a rewind takes back the memories recorded after its point
(like every event) and with them the marker, so the lines it kept are summarised again. A failed or stalled
summary is logged with an error id and records nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import structlog

from engine.commands import Actor, Command, InChat, PassageMemory, RecordPassageMemories
from engine.errors import DomainError, NarratorUnavailable
from engine.events import MESSAGE_MAX, Recorded
from engine.narrator.generation import Writing, fit
from engine.narrator.prompt import build_task_prompt
from engine.queries_passages import WitnessedLine, lines_after, summarised_through
from engine.services.writer import StoryWriter
from engine.storage.port import Conn
from engine.views import MessageView

log = structlog.get_logger(__name__)
DEFAULT_PASSAGE_LINES = 20  # CHRONICLE_AUTO_MEMORY_LINES: a passage's lines, and the recent window's
SUMMARY_SECONDS = 120.0  # a summary taking longer is given up (logged, nothing recorded)
NARRATOR = "narrator"  # the actor of the memories the narrator records
TRIGGERS = frozenset({"user_said", "bot_replied", "scene_closed", "time_skip_elision"})
CLOSING = frozenset({"scene_closed", "time_skip_elision"})
SUMMARY_TASK = ("You are the narrator of a roleplay story. Write a short memory (two to four sentences, past tense, "
                "third person) of the passage of the story above: who said or did what, with the names, places, "
                "times and facts worth remembering later. Write only the memory.")


@dataclass(frozen=True, slots=True)
class Passage:
    """The lines of a chat to summarise next, after the lines summarised before them (`after_seq`)."""

    after_seq: int
    lines: tuple[WitnessedLine, ...]

    def groups(self) -> list[tuple[tuple[str, ...], tuple[MessageView, ...]]]:
        """The characters who witnessed the same lines of the passage, with those lines (one summary each)."""
        seen: dict[tuple[int, ...], list[str]] = {}
        for who in dict.fromkeys(w for line in self.lines for w in line.witnesses):
            seen.setdefault(tuple(line.message.seq for line in self.lines if who in line.witnesses), []).append(who)
        by_seq = {line.message.seq: line.message for line in self.lines}
        return [(tuple(ids), tuple(by_seq[s] for s in seqs)) for seqs, ids in seen.items()]


def closing_minimum(size: int) -> int:
    """The fewest lines a scene's close or a time skip summarises (fewer wait for the next passage)."""
    return max(2, size // 4)


def due_passage(conn: Conn, chat_id: str, size: int, *, closing: bool) -> Passage | None:
    """The passage of `chat_id` due for a summary now, if any: its oldest `size` unsummarised lines once they are
    older than the newest `size`; or, when a scene closes or time skips, every unsummarised line (up to `size`)."""
    after = summarised_through(conn, chat_id)
    lines = lines_after(conn, chat_id, after, limit=2 * size)
    cut = len(lines) if closing else len(lines) - size
    passage = lines[:min(cut, size)]
    if len(passage) < (closing_minimum(size) if closing else size):
        return None
    return Passage(after, tuple(passage))


class AutoMemory:
    """Schedules and writes the automatic memories of every chat (one task per chat at a time)."""

    def __init__(self, writer: StoryWriter, writing: Writing, *, enabled: bool,
                 lines: int = DEFAULT_PASSAGE_LINES, seconds: float = SUMMARY_SECONDS) -> None:
        self.writer = writer
        self.writing = writing
        self.enabled = enabled
        self.lines = lines
        self.seconds = seconds
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, bool] = {}  # chats noticed again while their task ran (and whether closing)
        self._calls = asyncio.Semaphore(1)  # summaries written at once, over every chat

    def notice(self, cmd: Command[Any], recorded: list[Recorded[Any]]) -> None:
        """After a story command is recorded: start its chat's summary task when a passage may be due (never
        awaited; a chat whose task is running is looked at again when it ends)."""
        if not self.enabled or self.writing.model is None or not isinstance(cmd, InChat) or not cmd.chat_id:
            return
        kinds = {e.kind for e in recorded if e.chat_id == cmd.chat_id}
        if not kinds & TRIGGERS:
            return
        closing = bool(kinds & CLOSING)
        if cmd.chat_id in self._running:
            self._again[cmd.chat_id] = self._again.get(cmd.chat_id, False) or closing
            return
        self._start(cmd.chat_id, cmd.channel_id, cmd.actor.guild_id, closing)

    def _start(self, chat_id: str, channel_id: str, guild_id: str, closing: bool) -> None:
        task = asyncio.get_running_loop().create_task(self._summarise(chat_id, channel_id, guild_id, closing),
                                                      name=f"chronicle-memory-{chat_id}")
        self._running[chat_id] = task

        def finished(done: asyncio.Task[None]) -> None:
            self._running.pop(chat_id, None)
            again = self._again.pop(chat_id, None)
            if again is not None and not done.cancelled():
                self._start(chat_id, channel_id, guild_id, again)

        task.add_done_callback(finished)

    async def _summarise(self, chat_id: str, channel_id: str, guild_id: str, closing: bool) -> None:
        """Write and record the chat's due passage, if any; a failure is logged (with an id) and records nothing."""
        try:
            passage = await self.writer.db.read(lambda c: due_passage(c, chat_id, self.lines, closing=closing))
            if passage is None:
                return
            memories = [PassageMemory(character_ids=list(ids), text=await self._write(lines))
                        for ids, lines in passage.groups()]
            cmd = RecordPassageMemories(
                actor=Actor(user_id=NARRATOR, guild_id=guild_id), channel_id=channel_id, chat_id=chat_id,
                after_seq=passage.after_seq, from_seq=passage.lines[0].message.seq,
                through_seq=passage.lines[-1].message.seq, lines=len(passage.lines), memories=memories)
            await self.writer.queue(channel_id, lambda: self._record(cmd))
            log.info("auto_memory_recorded", chat=chat_id, from_seq=cmd.from_seq, through_seq=cmd.through_seq,
                     characters=sum(len(m.character_ids) for m in memories))
        except DomainError as exc:  # the story ended, or the passage was summarised or changed meanwhile
            log.info("auto_memory_not_recorded", chat=chat_id, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 — a summary never reaches a person: it is logged, with an id
            log.error("auto_memory_failed", error_id=secrets.token_hex(4), chat=chat_id, error=repr(exc),
                      exc_info=exc)

    async def _write(self, lines: tuple[MessageView, ...]) -> str:
        """The model's summary of `lines` (each cut to its share of the prompt), within SUMMARY_SECONDS."""
        model = self.writing.require_model()
        budget = self.writing.budget
        share = max(120, budget.prompt_tokens * 2 // max(1, len(lines)))  # about 3 characters a token, 2/3 of it
        shown = [m._replace(text=fit(m.text, share)) for m in lines]
        prompt = build_task_prompt(SUMMARY_TASK, shown, budget)
        async with self._calls, asyncio.timeout(self.seconds):
            pieces = [c.text async for c in model.stream(prompt.messages, max_tokens=budget.reply_tokens)]
        text = "".join(pieces).strip()
        if not text:
            raise NarratorUnavailable("the model returned an empty summary")
        return fit(text, MESSAGE_MAX)

    async def _record(self, cmd: RecordPassageMemories) -> Any:
        """Record the memories in the chat's turn, against its version now (when the chat is still the channel's)."""
        ref = await self.writer.chat_ref(cmd.channel_id, cmd.actor.guild_id)
        if ref.chat_id != cmd.chat_id:
            raise DomainError("the story the passage belongs to has ended")
        return await self.writer.record(cmd.model_copy(update={"expected_version": ref.version}))

    def writing_for(self) -> list[str]:
        """The chats whose summary is being written now."""
        return list(self._running)

    async def join(self) -> None:
        """Wait until no chat's summary is being written (tests, and a clean shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop every summary being written (nothing is recorded for it)."""
        self._again.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
