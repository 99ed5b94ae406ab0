"""Discord faults, end to end against the fake Discord: rate limits, server errors at start-up and during
work, a webhook deleted under the bot, missing permissions, a gateway close mid-reply, a deleted channel."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import discord.http
import discord.webhook.async_
import pytest
from structlog.testing import capture_logs

from bot.discord.main import run_discord
from engine import Engine, EngineError
from tests.bot.conftest import Chronicle
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.faults import WEBHOOK_EXECUTE


class _QuickSleep:
    """The asyncio module as discord.py sees it, with its retry back-off sleeps cut to a moment."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, 0.01), result)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py retries a 5xx five times with 1-9 s pauses; the tests keep the retries, not the pauses."""
    monkeypatch.setattr(discord.http, "asyncio", _QuickSleep())
    monkeypatch.setattr(discord.webhook.async_, "asyncio", _QuickSleep())


def _events(db_path: Path, kind: str) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT seq, payload FROM events WHERE kind = ?", (kind,)).fetchall()
    finally:
        conn.close()


async def test_a_rate_limited_route_is_retried_after_retry_after(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    fault = fd.fail_route("POST", WEBHOOK_EXECUTE, status=429, retry_after=0.4)
    chronicle.llm.enqueue_text("Patience is a virtue.")
    await chronicle.say(w.member, "Hello?")
    assert [m.content for m in chronicle.hook_messages()] == ["Patience is a virtue."]
    later = [t for method, path, t in fd.request_times
             if method == "POST" and "/webhooks/" in path and t > fault.hit_times[0]]
    assert later and later[0] - fault.hit_times[0] >= 0.4  # discord.py waited for retry_after before trying again
    assert len(_events(chronicle.db_path, "bot_replied")) == 1


async def test_server_errors_during_a_reply_end_in_one_line_and_nothing_unrecorded(chronicle: Chronicle,
                                                                                   quick_retries: None) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    fault = fd.fail_route("POST", WEBHOOK_EXECUTE, status=502, times=5)
    chronicle.llm.enqueue_text("This never reaches the channel.")
    with capture_logs() as logs:
        said = await fd.user_says(w.channel, w.member, "Are you there?")
        await fd.wait_for(lambda: any(m.message_reference and str(m.message_reference.get("message_id")) == str(said.id)
                                      for m in fd.messages_in(w.channel)), timeout=10)
        await chronicle.settle()
    assert fault.hits == 5  # every retry was made
    answer = [m for m in fd.messages_in(w.channel) if m.message_reference][-1]
    assert "Discord is having trouble (it answered 502" in answer.content and answer.content.count("\n") == 0
    assert chronicle.hook_messages() == [] and _events(chronicle.db_path, "bot_replied") == []
    assert not [entry for entry in logs if entry.get("exc_info") or entry["log_level"] in ("error", "critical")]


async def test_server_errors_at_start_up_are_one_line(fake_discord: FakeDiscord, tmp_path: Path,
                                                      quick_retries: None) -> None:
    fake_discord.fail_route("GET", r"/users/@me$", status=502, times=5)
    engine = await Engine.open(tmp_path / "start.db")
    try:
        with pytest.raises(EngineError) as caught:
            await run_discord(engine, "fake-bot-token", api_base=fake_discord.api_base,
                              gateway_url=fake_discord.gateway_url)
    finally:
        await engine.close()
    text = str(caught.value)
    assert "Discord answered 502" in text and "/users/@me" in text and "\n" not in text


async def test_a_webhook_deleted_under_the_bot_is_recreated_once(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_text("First.")
    await chronicle.say(w.member, "one")
    old = fd.webhooks_in(w.channel)[0]
    del fd.webhooks[old.id]  # gone without a WEBHOOKS_UPDATE: the next execute answers 404 Unknown Webhook
    created_before = [r for r in fd.requests if r[0] == "POST" and r[1].endswith("/webhooks")]
    chronicle.llm.enqueue_text("Second.")
    await chronicle.say(w.member, "two")
    assert [m.content for m in chronicle.hook_messages()] == ["First.", "Second."]
    created = [r for r in fd.requests if r[0] == "POST" and r[1].endswith("/webhooks")]
    assert len(created) == len(created_before) + 1 and len(fd.webhooks_in(w.channel)) == 1


async def test_a_missing_permission_is_named_once_per_channel(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    locked = fd.add_channel(w.guild, "no-send", bot_can_manage_webhooks=False)
    await fd.wait_for(lambda: chronicle.bot.get_channel(locked.id))
    await chronicle.start_story()
    await chronicle.command(w.admin, "chat start", {"character": "Aria"}, channel=locked)
    fd.fail_route("POST", rf"/channels/{locked.id}/messages$", status=403, code=50013, message="Missing Permissions",
                  times=100)
    with capture_logs() as logs:
        for line in ("hello", "hello again"):
            chronicle.llm.enqueue_text(f"Answer to {line}.")
            await fd.user_says(locked, w.member, line)
            await chronicle.settle()
            await asyncio.sleep(0.05)
            await chronicle.settle()
    told = [e for e in logs if e["event"] == "missing_permission"]
    assert len(told) == 1 and told[0]["permission"].startswith("Send Messages")
    assert [e for e in logs if e["event"] == "missing_permission_again"]
    assert not [entry for entry in logs if entry.get("exc_info") or entry["log_level"] in ("error", "critical")]
    assert len(_events(chronicle.db_path, "user_said")) == 2 and _events(chronicle.db_path, "bot_replied") == []


async def test_a_gateway_close_mid_reply_resumes_without_a_duplicate(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    chronicle.llm.enqueue_delay(0.5, "Slowly, surely.")
    said = await fd.user_says(w.channel, w.member, "Tell me slowly.")
    await fd.wait_for(lambda: len(chronicle.llm.chat_requests) >= 1, timeout=5)
    await fd.disconnect_bot(4000)  # resumable: the bot RESUMEs and the fake replays what it missed
    await fd.wait_for_resume(1)
    await fd.gateway.dispatch("MESSAGE_CREATE", said.payload(), intent=1 << 9, gated_content=True)  # a replay
    await fd.wait_for(lambda: chronicle.hook_messages(), timeout=10)
    chronicle.llm.enqueue_text("And now quickly.")
    await chronicle.say(w.member, "Now quickly.")
    assert [m.content for m in chronicle.hook_messages()] == ["Slowly, surely.", "And now quickly."]
    assert len(_events(chronicle.db_path, "user_said")) == 2 and len(_events(chronicle.db_path, "bot_replied")) == 2


async def test_a_deleted_channel_ends_its_story_with_a_note(chronicle: Chronicle) -> None:
    fd, w = chronicle.fd, chronicle.fd.world
    await chronicle.start_story()
    thread = fd.add_thread(w.channel, "side")
    await fd.wait_for(lambda: chronicle.bot.get_channel(thread.id))
    await chronicle.command(w.admin, "chat start", {"character": "Aria"}, channel=thread)
    await fd.delete_channel(w.channel)
    await fd.delete_channel(thread)

    async def both_ended() -> bool:
        return len(_events(chronicle.db_path, "chat_ended")) == 2

    for _ in range(100):
        if await both_ended():
            break
        await asyncio.sleep(0.05)
    ended = _events(chronicle.db_path, "chat_ended")
    assert len(ended) == 2 and all('"reason":"the channel was deleted"' in payload for _, payload in ended)
    assert await chronicle.engine.reads.find_chat(str(w.channel.id)) is None
    assert (await chronicle.engine.maintenance.check()).clean


async def test_a_storage_fault_reaches_the_person_as_one_ephemeral_line_with_an_error_id(chronicle: Chronicle) -> None:
    from engine.storage.sqlite_faults import corrupt

    w = chronicle.fd.world
    await chronicle.start_story()
    chronicle.engine.db.damaged = corrupt(chronicle.db_path, "found by a query a moment ago")  # as after SQLITE_CORRUPT
    with capture_logs() as logs:
        record = await chronicle.command(w.admin, "weather set", {"weather": "storm"})
    text = record.texts[-1]
    assert text.startswith("Chronicle's database is damaged") and "error id `" in text and "\n" not in text
    assert str(chronicle.db_path) not in text  # the file and the fix are for the admin's log
    logged = [e for e in logs if e["event"] == "storage_fault"]
    assert len(logged) == 1 and logged[0]["error_id"] in text and str(chronicle.db_path) in logged[0]["detail"]
