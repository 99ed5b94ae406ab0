"""End to end, story integrity (issue 8, defects 7-12): the concurrency check, idempotent interactions, one
serialiser with a bound, one error funnel, results without `assert` (python -O), and what members may export.

Each test drives the real bot through the loopback Discord and checks what people see and what the log holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from structlog.testing import capture_logs

from engine import Engine
from engine.commands import SetWeather
from tests.bot.conftest import Chronicle, button_id
from tests.bot.integrity import actor, bot_notes, kinds, lines, open_chat, payloads, queued, replied_to
from tests.fakes.discord import FakeMember
from tests.fakes.discord.faults import WEBHOOK_EXECUTE
from tests.fakes.llm_server import FakeLLMServer

# --- 7. the optimistic concurrency check fires ------------------------------------------------------------------

async def test_7_another_process_writing_mid_reply_trips_the_version_check_and_the_reply_is_recorded_once(
        chronicle: Chronicle) -> None:
    """A second engine on the same file changes the weather while a reply streams: the reply's append finds a
    newer version, is decided again, and is recorded once, after the weather, still answering the line."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("Rain drums on the roof as I answer.", gate)
    said = await fd.user_says(w.channel, w.member, "Is it raining?")
    await fd.wait_for(lambda: chronicle.hook_messages())
    other = await Engine.open(chronicle.db_path)
    try:
        await other.perform(SetWeather(actor=actor(w.admin, admin=True), channel_id=str(w.channel.id), weather="storm"))
    finally:
        await other.close()
    with capture_logs() as logs:
        gate.set()
        await chronicle.settle()
    redecided = [e for e in logs if e.get("event") == "concurrency_conflict_redecide"]
    assert [e["command"] for e in redecided] == ["record_reply"], logs
    assert (await kinds(chronicle, chat.chat_id))[-3:] == ["user_said", "weather_changed", "bot_replied"]
    assert await lines(chronicle, chat.chat_id) == [("person", "Is it raining?"),
                                                    ("character", "Rain drums on the roof as I answer.")]
    [reply] = chronicle.hook_messages()
    assert reply.content == "Rain drums on the roof as I answer."
    assert (await chronicle.engine.reads.transcript(chat.chat_id))[-1].discord_ids == (str(reply.id),)
    assert (await open_chat(chronicle)).weather == "storm"
    assert (await chronicle.engine.reads.find_message(chat.chat_id, str(said.id))) is not None
    assert (await chronicle.engine.maintenance.check()).clean


# --- 8. interactions are idempotent -------------------------------------------------------------------------------

async def test_8_a_double_clicked_regenerate_rewrites_once(chronicle: Chronicle) -> None:
    """Two clicks on Regenerate before the first finishes: one rewrite; the second click is told plainly."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("First take.")
    await chronicle.say(w.member, "Sing.")
    chat = await open_chat(chronicle)
    [reply] = chronicle.hook_messages()
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("Second take.", gate)
    chronicle.llm.enqueue_text("Third take.")
    first = await fd.click_button(reply, button_id(reply, "regenerate"), w.member)
    await first.wait_response()
    second = await fd.click_button(reply, button_id(reply, "regenerate"), w.member)
    await second.wait_response()
    await queued(chronicle, 2)
    gate.set()
    await first.wait_done(10)
    await second.wait_done(10)
    await chronicle.settle()
    assert "Rewrote" in first.texts[-1]
    assert "already been rewritten" in second.texts[-1] and "error id" not in second.texts[-1], second.texts
    assert len(await payloads(chronicle, chat.chat_id, "reply_regenerated")) == 1
    assert [m.content for m in chronicle.hook_messages()] == ["Second take."]
    assert await lines(chronicle, chat.chat_id) == [("person", "Sing."), ("character", "Second take.")]
    assert len(chronicle.llm.chat_requests) == 2


async def test_8_an_interaction_delivered_twice_is_recorded_once(chronicle: Chronicle) -> None:
    """Discord delivers the same /memory add (same interaction id) twice: one memory."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    record = await chronicle.command(w.admin, "memory add", {"text": "Wren owes Aria a song."})
    assert "will remember" in record.content
    await fd.redeliver_interaction(record)
    await fd.wait_for(lambda: record.rejected)  # the bot answered the repeat too (Discord refuses a second ack)
    await chronicle.settle()
    assert len(await payloads(chronicle, chat.chat_id, "memory_written")) == 1
    assert [m.text for m in await chronicle.engine.reads.list_memories(chat.chat_id)] == ["Wren owes Aria a song."]


# --- 9. one serialiser, bounded --------------------------------------------------------------------------------------

async def _memory_id(chronicle: Chronicle, text: str) -> str:
    """Write a memory through /memory add; return its id."""
    await chronicle.command(chronicle.fd.world.admin, "memory add", {"text": text})
    chat = await open_chat(chronicle)
    return next(m.memory_id for m in await chronicle.engine.reads.list_memories(chat.chat_id) if m.text == text)


async def test_9_story_commands_wait_for_a_streaming_reply_in_arrival_order(chronicle: Chronicle) -> None:
    """/scene open, /memory forget and /chat end issued while a reply streams run after it, in that order."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    memory_id = await _memory_id(chronicle, "Aria hums an old tune.")
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("Let me finish my song first.", gate)
    await fd.user_says(w.channel, w.member, "Sing for us.")
    await fd.wait_for(lambda: chronicle.hook_messages())
    records = []
    for position, (path, options) in enumerate((("scene open", {"place": "Market"}),
                                                ("memory forget", {"id": memory_id}), ("chat end", {})), start=2):
        records.append(await fd.invoke_command(w.channel, w.admin, path, options))
        await queued(chronicle, position)
    gate.set()
    for record in records:
        await record.wait_done(10)
    await chronicle.settle()
    wanted = {"user_said", "bot_replied", "scene_opened", "memory_forgotten", "chat_ended"}
    assert [k for k in await kinds(chronicle, chat.chat_id) if k in wanted] == [
        "user_said", "bot_replied", "scene_opened", "memory_forgotten", "chat_ended"]
    assert any("opens at **Market**" in t for t in records[0].texts)
    assert any(memory_id in t for t in records[1].texts)
    assert any("has ended" in t for t in records[2].texts)
    assert [r.rejected for r in records] == [[], [], []]


async def test_9_commands_queued_behind_a_long_reply_are_still_acknowledged_in_time(chronicle: Chronicle) -> None:
    """A command that waits for a reply longer than Discord's answer window is acknowledged first, so the
    person does not see 'The application did not respond' for a command that then runs."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    fd.interaction_timeout = 0.5  # Discord's 3 seconds, shortened for the test
    gate = asyncio.Event()
    chronicle.llm.enqueue_gated("The longest song I know, verse after verse.", gate)
    await fd.user_says(w.channel, w.member, "Sing the long one.")
    await fd.wait_for(lambda: chronicle.hook_messages())
    end = await fd.invoke_command(w.channel, w.admin, "chat end")
    await queued(chronicle, 2)
    await asyncio.sleep(0.8)  # the reply outlasts the answer window
    gate.set()
    await chronicle.settle()
    assert end.rejected == [] and end.responded, end.rejected
    assert await chronicle.engine.reads.find_chat(str(w.channel.id)) is None


async def test_9_too_many_queued_replies_get_a_slow_down_and_the_line_is_kept(chronicle: Chronicle) -> None:
    """With three replies already being written in a channel, a further line is recorded but answered with a
    short 'slow down'."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    gate, first = asyncio.Event(), "Here is my first answer, slowly told."
    chronicle.llm.enqueue_gated(first, gate)
    chronicle.llm.default_reply = lambda body: "Another answer."
    sent = [await fd.user_says(w.channel, w.member, "line 1")]
    await fd.wait_for(lambda: chronicle.hook_messages())
    for number in (2, 3):
        sent.append(await fd.user_says(w.channel, w.member, f"line {number}"))
        await queued(chronicle, number)
    for number in (4, 5):
        sent.append(await fd.user_says(w.channel, w.member, f"line {number}"))
    notes = await fd.wait_for(lambda: [m for m in bot_notes(chronicle)
                                       if replied_to(m) == sent[-1].id], 10)
    gate.set()
    await chronicle.settle()
    assert "Slow down" in notes[0].content and len(notes[0].content) < 300
    story = await lines(chronicle, chat.chat_id)
    assert [text for role, text in story if role == "person"] == [f"line {n}" for n in range(1, 6)]
    assert story[:6] == [("person", "line 1"), ("character", first), ("person", "line 2"),
                         ("character", "Another answer."), ("person", "line 3"), ("character", "Another answer.")]
    assert story[-1] == ("person", "line 5")


# --- 10. one error funnel for channel messages -------------------------------------------------------------------

async def test_10_an_unexpected_error_answering_a_message_shows_an_error_id_that_is_logged(
        chronicle: Chronicle) -> None:
    """Discord refuses the reply's webhook message: the person is answered with an error id, and the log has
    request_failed under that id; the line stays in the story."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chat = await open_chat(chronicle)
    fd.fail_route("POST", WEBHOOK_EXECUTE, status=400, code=50035, message="Invalid Form Body")
    with capture_logs() as logs:
        said = await fd.user_says(w.channel, w.member, "Hello?")
        [note] = await fd.wait_for(lambda: bot_notes(chronicle), 10)
        await chronicle.settle()
    assert replied_to(note) == said.id
    found = re.search(r"error id `([0-9a-f]+)`", note.content)
    assert found is not None, note.content
    failed = [e for e in logs if e.get("event") == "request_failed"]
    assert [e["error_id"] for e in failed] == [found.group(1)] and failed[0]["message"] == said.id
    assert await lines(chronicle, chat.chat_id) == [("person", "Hello?")]
    assert chronicle.hook_messages() == []


# --- 11. results are not checked with assert (python -O) ---------------------------------------------------------

SCRIPT = r'''
import asyncio, json, sys
from engine import Actor, Engine
from engine.commands import AnswerLine, AuthorCharacter, RewindChat, SayLine, SetWeather, StartChat, WriteMemory
from engine.llm.openai_compat import OpenAICompatibleModel


class Sink:
    async def begin(self, character): pass
    async def update(self, character, text): pass
    async def finish(self, character, text): return []
    async def abort(self, character, error): pass


def show(step, value):
    replies = getattr(value, "replies", None)
    print(json.dumps({"step": step, "type": type(value).__name__, "text": getattr(value, "text", None),
                      "message_id": getattr(value, "message_id", None), "weather": getattr(value, "weather", None),
                      "removed": len(getattr(value, "removed_messages", ())),
                      "replies": None if replies is None else [r.text for r in replies]}), flush=True)


async def step(name, make):
    try:
        show(name, await make())
    except Exception as exc:
        print(json.dumps({"step": name, "error": type(exc).__name__, "message": str(exc)}), flush=True)


async def main(path, url):
    model = OpenAICompatibleModel(url, "key", "fake-model", max_retries=0, timeout=5.0)
    engine = await Engine.open(path, model=model)
    ada = Actor(user_id="ada", guild_id="g", display_name="Ada", is_admin=True)
    print(json.dumps({"optimize": sys.flags.optimize}), flush=True)
    def say(message_id, text):
        return engine.perform(SayLine(actor=ada, channel_id="c", message_id=message_id, text=text))

    def answer(message_id, text):
        return engine.perform(AnswerLine(actor=ada, channel_id="c", message_id=message_id, text=text), sink=Sink())

    await engine.perform(AuthorCharacter(actor=ada, name="Aria", description="A wandering bard."))
    await step("start", lambda: engine.perform(StartChat(actor=ada, channel_id="c", character="Aria")))
    await step("say", lambda: say("m1", "Hello there."))
    await step("say again", lambda: say("m1", "Hello there."))
    await step("respond", lambda: answer("m2", "Sing, Aria."))
    await step("respond again", lambda: answer("m2", "Sing, Aria."))
    await step("rewind", lambda: engine.perform(RewindChat(actor=ada, channel_id="c", messages=2)))
    await step("say rewound again", lambda: say("m2", "Sing, Aria."))
    await step("weather", lambda: engine.perform(SetWeather(actor=ada, channel_id="c", weather="storm")))
    await step("memory", lambda: engine.perform(WriteMemory(actor=ada, channel_id="c", text="Ada owes Aria a song.")))
    chat = await engine.reads.get_chat("c")
    print(json.dumps({"transcript": [m.text for m in await engine.reads.transcript(chat.chat_id)]}), flush=True)
    await engine.close()
    await model.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
'''


async def test_11_under_python_O_results_are_right(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    """A short story run with `python -O` (asserts stripped): every result is the real one, a repeat of a
    rewound line is a typed 'already handled', never None."""
    script = tmp_path / "story.py"
    script.write_text(SCRIPT)
    fake_llm.enqueue_text("A song of the road.")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-O", str(script), str(tmp_path / "o.db"), fake_llm.base_url, cwd=Path.cwd(),
        env={**os.environ, "PYTHONPATH": str(Path.cwd())}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    rows = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    steps = {row["step"]: row for row in rows if "step" in row}
    assert rows[0] == {"optimize": 1}
    assert steps["say rewound again"].get("error") == "AlreadyHandled", steps["say rewound again"]
    assert steps["start"]["type"] == "ChatView"
    assert (steps["say"]["type"], steps["say"]["text"]) == ("MessageView", "Hello there.")
    assert steps["say again"]["type"] == "MessageView"
    assert steps["say again"]["message_id"] == steps["say"]["message_id"]
    assert steps["respond"]["replies"] == ["A song of the road."]
    assert steps["respond again"].get("replies") in ([], None) and "error" not in steps["respond again"]
    assert (steps["rewind"]["type"], steps["rewind"]["removed"]) == ("RewindResult", 2)
    assert (steps["weather"]["type"], steps["weather"]["weather"]) == ("ChatView", "storm")
    assert (steps["memory"]["type"], steps["memory"]["text"]) == ("MemoryView", "Ada owes Aria a song.")
    assert rows[-1] == {"transcript": ["Hello there."]}


# --- 12. privacy: export and the prompt inspector ----------------------------------------------------------------

def _attached(chronicle: Chronicle, record_attachments: list[dict[str, str]]) -> dict[str, str]:
    """The text of each attachment of an answer, by file extension."""
    return {a["filename"].split(".", 1)[1]: chronicle.fd.attachment_bytes[a["id"]].decode()
            for a in record_attachments}


async def _private_story(chronicle: Chronicle) -> None:
    """Aria has hidden instructions; Ada and Bob have personas; two lines rewound, then one deleted."""
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.command(w.admin, "character create", {"name": "Aria", "description": "A bard."})
    for field, value in (("system_prompt", "SECRET-SYSTEM-PROMPT"),
                         ("post_history_instructions", "SECRET-POST-HISTORY")):
        await chronicle.command(w.admin, "character edit", {"name": "Aria", "field": field, "value": value})
    await chronicle.command(w.admin, "persona set", {"name": "Wren", "description": "ADA-PRIVATE-PERSONA"})
    await chronicle.command(w.member, "persona set", {"name": "Pip", "description": "BOB-OWN-PERSONA"})
    await chronicle.command(w.admin, "chat start", {"character": "Aria"})
    chronicle.llm.default_reply = lambda body: "Aria nods."
    for member, text in ((w.member, "keep this line"), (w.admin, "delete me"), (w.admin, "Ada stays"),
                         (w.member, "rewound line")):
        await chronicle.say(member, text)
    await chronicle.command(w.admin, "admin rewind", {"messages": 2})
    await fd.user_deletes(next(m for m in fd.messages_in(w.channel) if m.content == "delete me"))
    await chronicle.settle()


async def test_12_a_member_exports_the_live_story_and_an_admin_the_full_log(chronicle: Chronicle) -> None:
    """A member's export holds the live transcript only (no user ids, no deleted or rewound text); an admin's
    holds the whole log."""
    w = chronicle.fd.world
    await _private_story(chronicle)
    ids = (str(w.admin.id), str(w.member.id))
    member = _attached(chronicle, (await chronicle.command(w.member, "chat export")).attachments)
    for text in member.values():
        assert "keep this line" in text and "Ada stays" in text and "Pip" in text
        assert "delete me" not in text and "rewound line" not in text
        assert not any(i in text for i in ids)
    admin = _attached(chronicle, (await chronicle.command(w.admin, "chat export")).attachments)
    log = admin["events.jsonl"]
    assert "delete me" in log and "rewound line" in log and all(i in log for i in ids)


async def _prompt(chronicle: Chronicle, who: FakeMember) -> str:
    """The prompt.txt a person gets from /chat prompt."""
    record = await chronicle.command(who, "chat prompt")
    assert record.ephemeral
    return _attached(chronicle, record.attachments)["txt"]


async def test_12_a_members_prompt_hides_card_instructions_and_other_peoples_personas(
        chronicle: Chronicle) -> None:
    """/chat prompt by a member leaves out the card's hidden instructions and Ada's persona description; an
    admin sees them."""
    w = chronicle.fd.world
    await _private_story(chronicle)
    seen = await _prompt(chronicle, w.member)
    assert "SECRET-SYSTEM-PROMPT" not in seen and "SECRET-POST-HISTORY" not in seen
    assert "ADA-PRIVATE-PERSONA" not in seen and "BOB-OWN-PERSONA" in seen
    full = await _prompt(chronicle, w.admin)
    for secret in ("SECRET-SYSTEM-PROMPT", "SECRET-POST-HISTORY", "ADA-PRIVATE-PERSONA", "BOB-OWN-PERSONA"):
        assert secret in full
