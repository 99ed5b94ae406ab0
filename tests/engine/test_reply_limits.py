"""A reply's two limits, on both backends: its length (a visible cut) and its time (CHRONICLE_LLM_REPLY_DEADLINE).

Against the loopback fake model server: a model that writes 200 kB, one that never answers, one that stalls in
the middle of its reply, and one that fails with a backoff longer than the time left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from engine import MESSAGE_MAX, Actor, Engine, NarratorUnavailable
from engine.commands import AnswerLine, CloseScene, ContinueReply, SayLine, SkipTime, StartMeanwhile
from engine.events import REPLY_MAX
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.narrator.generation import CUT_MARKER
from engine.views import CharacterView
from tests.conftest import story
from tests.fakes.llm_server import FakeLLMServer

HUGE = " ".join(f"word{i}" for i in range(30_000))  # about 200 kB, no paragraph breaks
GENEROUS = 30.0  # seconds: only a hang (a reply held for the per-request timeout and its retries) fails this


class Shown:
    """A ReplySink that remembers every text it was shown and how the reply ended."""

    def __init__(self) -> None:
        self.updates: list[str] = []
        self.finished: str | None = None
        self.aborted = False

    async def begin(self, character: CharacterView) -> None:
        """Nothing to show yet."""

    async def update(self, character: CharacterView, text: str) -> None:
        self.updates.append(text)

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        self.finished = text
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        self.aborted = True


def model_for(llm: FakeLLMServer, **options: float) -> OpenAICompatibleModel:
    """A client of the fake server (per-request timeout far longer than any deadline below)."""
    settings: dict[str, float] = {"timeout": 60.0, "max_retries": 3, "backoff": 0.01}
    settings.update(options)
    return OpenAICompatibleModel(llm.base_url, "test-key", "fake-model", **settings)  # type: ignore[arg-type]


@pytest.fixture
async def narrated(engine: Engine, fake_llm: FakeLLMServer) -> AsyncIterator[Engine]:
    """The engine of each backend with a model whose whole reply must come within a second."""
    engine.model = model_for(fake_llm, reply_deadline=1.0)
    try:
        yield engine
    finally:
        await engine.model.aclose()


def cut_properly(text: str, limit: int) -> bool:
    """Within the limit, ended by the marker, and most of the limit kept."""
    return len(text) <= limit and text.endswith(CUT_MARKER) and len(text) > limit - 200


async def test_a_huge_reply_is_cut_with_a_visible_marker_shown_and_recorded_alike(narrated: Engine, admin: Actor,
                                                                                 fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text(HUGE, chunks=400)
    sink = Shown()
    result = await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Tell me everything."), sink=sink)
    reply = result.replies[0]
    assert cut_properly(reply.text, REPLY_MAX) and reply.text.startswith("word0 word1 ")
    assert sink.finished == reply.text and all(len(text) <= REPLY_MAX for text in sink.updates)
    assert sink.updates[-1] == reply.text
    lines = await narrated.reads.transcript(chat_id)
    assert lines[-1].text == reply.text
    assert (await narrated.maintenance.check()).clean


async def test_a_continuation_past_the_limit_is_cut_with_the_marker(narrated: Engine, admin: Actor,
                                                                    fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("It began quietly.")
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Go on."), sink=Shown())
    fake_llm.enqueue_text(HUGE, chunks=100)
    longer = await narrated.perform(ContinueReply(actor=admin, channel_id="chan-1"), sink=Shown())
    assert longer.text.startswith("It began quietly. word0 ") and cut_properly(longer.text, REPLY_MAX)
    assert (await narrated.reads.transcript(chat_id))[-1].text == longer.text


async def test_a_huge_summary_skip_and_digest_are_cut_with_the_marker(narrated: Engine, admin: Actor,
                                                                      fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Let us toast to the harvest."))
    fake_llm.enqueue_text(HUGE, chunks=50)
    await narrated.perform(CloseScene(actor=admin, channel_id="chan-1"))
    fake_llm.enqueue_text(HUGE, chunks=50)
    await narrated.perform(SkipTime(actor=admin, channel_id="chan-1", by="8h"))
    fake_llm.enqueue_text(HUGE, chunks=50)
    await narrated.perform(StartMeanwhile(actor=admin, channel_id="chan-1", character="Aria", premise="Aria tunes her lute"))
    events = {e.kind: e.payload for e in await narrated.reads.recent_events(chat_id=chat_id, limit=30)}
    assert cut_properly(events["scene_closed"]["summary"], REPLY_MAX)
    assert cut_properly(events["time_skip_elision"]["summary"], MESSAGE_MAX)
    assert cut_properly(events["meanwhile_digest_created"]["digest"], REPLY_MAX)


async def _fails_in_time(engine: Engine, admin: Actor, sink: Shown) -> NarratorUnavailable:
    """Say a line; the reply must fail with NarratorUnavailable, leaving only the person's line recorded."""
    chat_id = await story(engine, admin)
    began = time.monotonic()
    with pytest.raises(NarratorUnavailable) as caught:
        await asyncio.wait_for(engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Are you there?"), sink=sink), GENEROUS)
    assert time.monotonic() - began < GENEROUS
    lines = await engine.reads.transcript(chat_id)
    assert [(m.role, m.text) for m in lines] == [("person", "Are you there?")]
    assert [e.kind for e in await engine.reads.recent_events(chat_id=chat_id, limit=1)] == ["user_said"]
    return caught.value


async def test_a_model_that_never_answers_fails_at_the_deadline(narrated: Engine, admin: Actor,
                                                                fake_llm: FakeLLMServer):
    fake_llm.enqueue_delay(120, "Too late.")
    error = await _fails_in_time(narrated, admin, Shown())
    assert "did not finish its reply within 1 s" in error.reason and error.attempts == 1


async def test_a_stream_that_stalls_mid_reply_fails_at_the_deadline_and_is_withdrawn(narrated: Engine, admin: Actor,
                                                                                     fake_llm: FakeLLMServer):
    text = "The fog lifts over the water, and the ferry drifts towards a shore nobody has mapped. " * 4
    fake_llm.enqueue_gated(text, asyncio.Event(), chunks=2, after=1)  # half the reply, then nothing, ever
    sink = Shown()
    error = await _fails_in_time(narrated, admin, sink)
    assert "did not finish its reply within 1 s" in error.reason
    assert sink.updates and sink.aborted and sink.finished is None


async def test_no_retry_is_waited_for_past_the_deadline(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer):
    await narrated.model.aclose()  # type: ignore[union-attr]
    narrated.model = model_for(fake_llm, reply_deadline=1.0, backoff=20.0)
    fake_llm.enqueue_error(503, "overloaded")
    error = await _fails_in_time(narrated, admin, Shown())
    assert "returned 503: overloaded; no time was left to try again within 1 s" in error.reason
    assert len(fake_llm.chat_requests) == 1
