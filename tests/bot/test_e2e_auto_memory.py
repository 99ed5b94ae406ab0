"""End to end through the fake Discord: a passage that left the recent window becomes an automatic memory, listed
by /memory list and in the character's prompt as `/chat prompt` shows it; check stays clean after a reproject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.services.memories import SUMMARY_TASK
from tests.bot.conftest import start_chronicle
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.interactions import InteractionRecord
from tests.fakes.llm_server import FakeLLMServer

MEMORY = "Wren told Aria that the ferry to Larkspur leaves at dawn."


def is_summary(body: dict[str, Any]) -> bool:
    """Whether a request to the model asks for an automatic memory."""
    return body["messages"][0]["content"] == SUMMARY_TASK


def _shown(record: InteractionRecord) -> str:
    """What a command's answer shows: its texts and its embeds' descriptions."""
    return "\n".join([*record.texts, *(str(e.get("description", "")) for e in record.embeds)])


def _prompt_text(record: InteractionRecord) -> str:
    message = record.original
    assert message is not None
    files = {a["filename"]: message.files[a["id"]] for a in message.attachments}
    return files["prompt.txt"].decode()


async def test_an_automatic_memory_is_listed_and_in_the_prompt(fake_discord: FakeDiscord, fake_llm: FakeLLMServer,
                                                              tmp_path: Path) -> None:
    fake_llm.route(is_summary, text=lambda body: MEMORY)
    async with start_chronicle(fake_discord, fake_llm, tmp_path / "chronicle.db", auto_memory=True,
                               auto_memory_lines=4) as chronicle:
        w = chronicle.fd.world
        await chronicle.start_story()
        for i in range(4):
            await chronicle.say(w.admin, f"The ferry to Larkspur leaves at dawn, remember ({i}).")
        await chronicle.engine.memories.join()
        summaries = [b for b in fake_llm.chat_requests if is_summary(b)]
        assert len(summaries) == 1 and "remember (0)" in summaries[0]["messages"][-1]["content"]
        listed = await chronicle.command(w.admin, "memory list")
        assert f"**Aria** (4): {MEMORY}" in _shown(listed), _shown(listed)
        prompt = _prompt_text(await chronicle.command(w.admin, "chat prompt", {"line": "When is the ferry?"}))
        assert f"- {MEMORY}" in prompt.split("# What Aria remembers", 1)[1]
        await chronicle.command(w.admin, "admin reproject")
        assert (await chronicle.engine.maintenance.check()).clean
        assert MEMORY in _shown(await chronicle.command(w.admin, "memory list"))
