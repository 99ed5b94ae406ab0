"""The narrator against a real loopback OpenAI-compatible server (SSE streaming)."""

from __future__ import annotations

import json

import pytest

from engine import Actor, AlreadyHandled, Engine, InvalidInput, NarratorUnavailable
from engine.commands import (
    AdjustRelationship,
    AnswerLine,
    CloseScene,
    ContinueReply,
    EditCharacter,
    EndChat,
    InspectPrompt,
    RecordReply,
    RegenerateReply,
    SayLine,
    SetPersona,
    SetWeather,
    SkipTime,
    StartChat,
    StartMeanwhile,
    WriteMemory,
)
from engine.narrator.tokens import message_tokens
from engine.views import CharacterView
from tests.conftest import count_events, story
from tests.fakes.llm_server import FakeLLMServer


class RecordingSink:
    """A ReplySink that remembers what it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def begin(self, character: CharacterView) -> None:
        self.calls.append(("begin", character.name, ""))

    async def update(self, character: CharacterView, text: str) -> None:
        self.calls.append(("update", character.name, text))

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        self.calls.append(("finish", character.name, text))
        return [f"discord-{len(self.calls)}"]

    async def abort(self, character: CharacterView, error: Exception) -> None:
        self.calls.append(("abort", character.name, str(error)))

    def updates(self) -> list[str]:
        return [text for kind, _, text in self.calls if kind == "update"]



def system_text(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def all_text(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"])


async def test_prompt_holds_card_personas_world_relationships_and_the_relevant_memory(
        narrated: Engine, admin: Actor, player: Actor, fake_llm: FakeLLMServer):
    await story(narrated, admin)
    await narrated.perform(EditCharacter(actor=admin, name="Aria", field="personality", value="Wry, kind to {{user}}, proud of being {{char}}."))
    await narrated.perform(SetPersona(actor=player, name="Tamsin", description="A herbalist with ink-stained fingers."))
    await narrated.perform(SetWeather(actor=admin, channel_id="chan-1", weather="drizzle"))
    await narrated.perform(SayLine(actor=player, channel_id="chan-1", message_id="p0", text="Good evening."))
    await narrated.perform(AdjustRelationship(actor=admin, channel_id="chan-1", character="Aria", target="Tamsin", affinity=25, trust=-5, note="owes a favour"))
    for i in range(1000):
        await narrated.perform(WriteMemory(actor=admin, channel_id="chan-1", text=f"Routine note {i}: bread, ale and the weather at the market.", importance=3))
    await narrated.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Tamsin hid the silver key beneath the lighthouse.", importance=4))
    for i in range(5):
        await narrated.perform(WriteMemory(actor=admin, channel_id="chan-1", text=f"Recent chatter {i}.", importance=2))

    await narrated.perform(AnswerLine(actor=player, channel_id="chan-1", message_id="p1", text="Aria, do you remember where the silver key is?"), sink=RecordingSink())

    system = system_text(fake_llm.chat_requests[-1])
    assert "A wandering bard." in system
    assert "Wry, kind to Tamsin, proud of being Aria." in system
    assert "Tamsin: A herbalist with ink-stained fingers." in system
    assert "Bram (another character)" in system
    assert "Weather: drizzle" in system and "Place: Tavern" in system and "Present: Aria, Bram." in system
    assert "towards Tamsin: affinity +25, trust -5 (owes a favour)" in system
    assert "silver key beneath the lighthouse" in system
    request = fake_llm.chat_requests[-1]
    assert request["messages"][-1] == {"role": "user", "content": "Tamsin: Aria, do you remember where the silver key is?"}
    assert "\nTamsin:" in request["stop"]


async def test_a_character_never_sees_a_meanwhile_digest_it_was_not_in(narrated: Engine, admin: Actor,
                                                                        fake_llm: FakeLLMServer):
    await story(narrated, admin)
    fake_llm.enqueue_text("In the cellar Bram found a dragon egg wrapped in sackcloth.")
    scene = await narrated.perform(StartMeanwhile(actor=admin, channel_id="chan-1", character="Bram", premise="Bram searches the cellar.", place="Cellar"))
    assert scene.digest and "dragon egg" in scene.digest

    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="q1", text="Tell me about the dragon egg."), sink=RecordingSink())
    to_aria = fake_llm.chat_requests[-1]
    assert "wrapped in sackcloth" not in all_text(to_aria)

    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="q2", text="Bram, tell me about the dragon egg."), sink=RecordingSink())
    to_bram = fake_llm.chat_requests[-1]
    assert "wrapped in sackcloth" in system_text(to_bram)
    kinds = [e.kind for e in await narrated.reads.recent_events(limit=20)]
    assert "meanwhile_scene_started" in kinds and "meanwhile_digest_created" in kinds


async def test_the_budget_holds_at_ten_thousand_messages(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    for i in range(10_000):
        await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id=f"h{i}", text=f"Message number {i} about the long road north."))
    prompt = await narrated.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
    assert prompt.total_tokens <= prompt.budget_tokens == 2048 - 120
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="h-last", text="And what now?"), sink=RecordingSink())
    sent = fake_llm.chat_requests[-1]["messages"]
    assert sum(message_tokens(m["content"]) for m in sent) <= 2048 - 120
    assert sent[-1]["content"].endswith("And what now?")
    assert not any("Message number 0 " in m["content"] for m in sent)
    assert len(await narrated.reads.transcript(chat_id, limit=20_000)) == 10_002


async def test_chunks_stream_in_order_and_the_reply_is_recorded(narrated: Engine, admin: Actor,
                                                                fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("Aria: The road is long, but the company is good.", chunks=6)
    sink = RecordingSink()
    [reply] = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Shall we go?"), sink=sink)).replies
    updates = sink.updates()
    assert len(updates) >= 5
    assert all(later.startswith(earlier) for earlier, later in zip(updates, updates[1:], strict=False))
    assert sink.calls[0][0] == "begin" and sink.calls[-1] == ("finish", "Aria", updates[-1])
    assert reply.text == "The road is long, but the company is good."
    assert reply.discord_ids == (f"discord-{len(sink.calls)}",)
    assert [m.role for m in await narrated.reads.transcript(chat_id)] == ["person", "character"]


async def test_the_speakers_own_name_echoed_at_the_start_of_a_line_is_left_out_as_it_streams(
        narrated: Engine, admin: Actor, fake_llm: FakeLLMServer):
    await story(narrated, admin)
    fake_llm.enqueue_text("Aria: No, no.\nAria: I'm afraid not today.\n**Aria**: Ask Bram.", chunks=12)
    sink = RecordingSink()
    [reply] = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1",
                                                 text="Any news?"), sink=sink)).replies
    assert reply.text == "No, no.\nI'm afraid not today.\nAsk Bram."  # a small model goes on with '\nAria: …'
    updates = sink.updates()
    assert all(later.startswith(earlier) for earlier, later in zip(updates, updates[1:], strict=False)), updates
    assert not any("Aria:" in u or "**Aria**" in u for u in updates), updates


async def test_rate_limit_then_success_is_retried(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer):
    await story(narrated, admin)
    fake_llm.enqueue_error(429)
    fake_llm.enqueue_text("Patience is a virtue.")
    [reply] = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hello?"), sink=RecordingSink())).replies
    assert reply.text == "Patience is a virtue."
    assert len(fake_llm.chat_requests) == 2


async def test_a_timeout_surfaces_as_narrator_unavailable_and_keeps_the_persons_message(
        narrated: Engine, admin: Actor, fake_llm: FakeLLMServer, db_path):
    chat_id = await story(narrated, admin)
    for _ in range(3):
        fake_llm.enqueue_delay(3.0)
    sink = RecordingSink()
    with pytest.raises(NarratorUnavailable):
        await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Are you there?"), sink=sink)
    assert [(m.role, m.text) for m in await narrated.reads.transcript(chat_id)] == [("person", "Are you there?")]
    assert sink.calls[-1][0] == "abort"
    assert not any(kind == "finish" for kind, _, _ in sink.calls)
    assert (await narrated.maintenance.check()).clean


async def test_the_guest_answers_when_named_and_both_answer_in_mention_order(narrated: Engine, admin: Actor,
                                                                             fake_llm: FakeLLMServer):
    await story(narrated, admin)
    fake_llm.enqueue_text("Bram grunts.")
    [only] = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Bram, any news?"), sink=RecordingSink())).replies
    assert only.speaker == "Bram"
    fake_llm.enqueue_text("Bram first.")
    fake_llm.enqueue_text("Then Aria.")
    both = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m2", text="bram and aria, come here"), sink=RecordingSink())).replies
    assert [m.speaker for m in both] == ["Bram", "Aria"]
    assert "\nBram:" in fake_llm.chat_requests[-1]["stop"]
    plain = (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m3", text="Anyone?"), sink=RecordingSink())).replies
    assert [m.speaker for m in plain] == ["Aria"]


async def test_regenerate_and_continue_record_reply_regenerated(narrated: Engine, admin: Actor,
                                                                fake_llm: FakeLLMServer, db_path):
    chat_id = await story(narrated, admin)
    fake_llm.enqueue_text("First try.")
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Sing something."), sink=RecordingSink())
    fake_llm.enqueue_text("Second try.")
    again = await narrated.perform(RegenerateReply(actor=admin, channel_id="chan-1"), sink=RecordingSink())
    assert again.text == "Second try." and again.revision == 1
    regen_request = fake_llm.chat_requests[-1]["messages"]
    assert not any("First try." in m["content"] for m in regen_request)
    fake_llm.enqueue_text("And a third line.")
    longer = await narrated.perform(ContinueReply(actor=admin, channel_id="chan-1"), sink=RecordingSink())
    assert longer.text == "Second try. And a third line."
    events = await narrated.reads.recent_events(chat_id=chat_id, limit=2)
    assert [(e.kind, e.payload["mode"]) for e in events] == [("reply_regenerated", "regenerate"),
                                                            ("reply_regenerated", "continue")]
    assert [m.text for m in await narrated.reads.transcript(chat_id)] == ["Sing something.", "Second try. And a third line."]


async def test_scene_close_and_time_skip_are_narrated_into_events(narrated: Engine, admin: Actor,
                                                                  fake_llm: FakeLLMServer):
    chat_id = await story(narrated, admin)
    await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Let us toast to the harvest."))
    fake_llm.enqueue_text("Wren, Aria and Bram toasted the harvest at the tavern.")
    await narrated.perform(CloseScene(actor=admin, channel_id="chan-1"))
    memories = await narrated.reads.list_memories(chat_id)
    assert {m.source for m in memories} == {"scene"} and len(memories) == 2
    assert "toasted the harvest" in memories[0].text
    assert "Let us toast to the harvest." in all_text(fake_llm.chat_requests[-1])
    fake_llm.enqueue_text("The night passed quietly by the fire.")
    await narrated.perform(SkipTime(actor=admin, channel_id="chan-1", by="8h"))
    lines = await narrated.reads.transcript(chat_id)
    assert lines[-1].role == "narrator" and lines[-1].text == "The night passed quietly by the fire."


async def test_replay_makes_no_request(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer):
    await story(narrated, admin)
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."), sink=RecordingSink())
    await narrated.perform(CloseScene(actor=admin, channel_id="chan-1"))
    asked = len(fake_llm.requests)
    await narrated.maintenance.rebuild()
    assert (await narrated.maintenance.check()).clean
    assert len(fake_llm.requests) == asked


async def test_a_delivery_seen_twice_is_answered_once(narrated: Engine, admin: Actor, fake_llm: FakeLLMServer, db_path):
    await story(narrated, admin)
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."), sink=RecordingSink())
    events, asked = count_events(db_path), len(fake_llm.chat_requests)
    assert (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."), sink=RecordingSink())).replies == ()
    assert (count_events(db_path), len(fake_llm.chat_requests)) == (events, asked)


async def test_without_a_model_the_message_is_kept_and_the_error_says_what_is_missing(engine: Engine, admin: Actor):
    chat_id = await story(engine, admin)
    with pytest.raises(NarratorUnavailable, match="no language model"):
        await engine.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hello?"), sink=RecordingSink())
    assert [m.text for m in await engine.reads.transcript(chat_id)] == ["Hello?"]


async def test_prompt_inspector_breakdown(narrated: Engine, admin: Actor):
    await story(narrated, admin)
    await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hello there."))
    prompt = await narrated.perform(InspectPrompt(actor=admin, channel_id="chan-1"))
    names = [name for name, _ in prompt.parts]
    assert names[:4] == ["card", "people", "world", "relationships"]
    assert names[4].startswith("pinned (0 of 0, cap ")
    assert names[5:8] == ["memories", "lore (0 entries)", "recall (0 older lines)"]
    assert names[8].startswith("history (1 of 1")
    assert prompt.total_tokens == sum(t for _, t in prompt.parts) + 6  # the system message's own overhead
    json.dumps([m.content for m in prompt.messages])


def test_narrator_task_prompts_stay_within_budget_with_huge_inputs():
    from engine.narrator.prompt import Budget, build_task_prompt
    from engine.views import MessageView

    lines = [MessageView(f"m{i}", "c", i, "person", "u", "Wren", None, "word " * 700, ("m",), 0, False, 0, None)
             for i in range(200)]
    budget = Budget(context_tokens=1024, reply_tokens=200)
    prompt = build_task_prompt("Summarise. " * 2000, lines, budget)
    assert prompt.total_tokens <= budget.prompt_tokens
    assert sum(message_tokens(m.content) for m in prompt.messages) <= budget.prompt_tokens


async def test_a_message_from_an_ended_story_delivered_again_is_not_answered(narrated: Engine, admin: Actor,
                                                                             fake_llm: FakeLLMServer, db_path):
    await story(narrated, admin)
    await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."), sink=RecordingSink())
    await narrated.perform(EndChat(actor=admin, channel_id="chan-1"))
    await narrated.perform(StartChat(actor=admin, channel_id="chan-1", character="Bram"))
    events, asked = count_events(db_path), len(fake_llm.chat_requests)
    assert (await narrated.perform(AnswerLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."), sink=RecordingSink())).replies == ()
    with pytest.raises(AlreadyHandled):
        await narrated.perform(SayLine(actor=admin, channel_id="chan-1", message_id="m1", text="Hi."))
    assert (count_events(db_path), len(fake_llm.chat_requests)) == (events, asked)


async def test_memory_relevance_ignores_the_names_every_memory_mentions(engine: Engine, admin: Actor):
    from engine.narrator.context import rank_memories

    chat_id = await story(engine, admin)
    for i in range(60):
        await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text=f"Aria and Wren shared stew number {i}.", importance=5))
    await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Wren lost a compass near the lighthouse.", importance=5))
    host = (await engine.reads.get_chat("chan-1")).host_id
    ranked = await engine.db.read(lambda c: rank_memories(c, chat_id, host, "Aria, Wren: the lighthouse?",
                                                          ignore_names=("Aria", "Wren")))
    assert ranked[0].text == "Wren lost a compass near the lighthouse."
    from engine.queries import fts_query

    assert fts_query("Aria, Wren: where is the lighthouse?", ignore={"aria", "wren"}) == '"lighthouse"'


async def test_the_inspector_shows_the_prompt_a_line_would_get_without_recording_it(engine: Engine, admin: Actor,
                                                                                      player: Actor):
    chat_id = await story(engine, admin)
    await engine.perform(SetPersona(actor=player, name="Tamsin", description="A herbalist."))
    await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text="Tamsin buried the brass compass under the plum tree.", importance=1))
    for i in range(20):
        await engine.perform(WriteMemory(actor=admin, channel_id="chan-1", text=f"Routine note {i}: bread and ale at the market.", importance=3))
    await engine.perform(SayLine(actor=player, channel_id="chan-1", message_id="p1", text="Good evening."))
    await engine.perform(RecordReply(actor=admin, channel_id="chan-1", character_id=(await engine.reads.get_chat("chan-1")).host_id, text="Evening, Tamsin."))
    before = [m.text for m in await engine.reads.transcript(chat_id)]
    plain = await engine.perform(InspectPrompt(actor=player, channel_id="chan-1"))
    assert "brass compass" not in "\n".join(m.content for m in plain.messages)

    asked = await engine.perform(InspectPrompt(actor=player, channel_id="chan-1", line="Where did I hide that compass?"))
    assert asked.messages[-1].content == "Tamsin: Where did I hide that compass?"
    assert asked.messages[-2].content == "Evening, Tamsin."
    assert "brass compass under the plum tree" in asked.messages[0].content  # the line drives memory recall
    assert dict(asked.parts)["memories"] > 0 and any(n.startswith("history (3 of 3") for n, _ in asked.parts)
    again = await engine.perform(InspectPrompt(actor=player, channel_id="chan-1", line="And the compass?"))
    unnamed = again  # the line is the asking person's, under their persona
    assert unnamed.messages[-1].content == "Tamsin: And the compass?"
    assert [m.text for m in await engine.reads.transcript(chat_id)] == before  # nothing was recorded
    with pytest.raises(InvalidInput, match="line"):
        await engine.perform(InspectPrompt(actor=player, channel_id="chan-1", line="   "))
