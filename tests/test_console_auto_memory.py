"""Automatic memories through `chronicle console` (script mode, a real subprocess): with a configured model, the
lines that left the recent window are summarised into a memory the character then has in its prompt, in a later
session too; CHRONICLE_AUTO_MEMORY=false turns it off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import Engine
from engine.services.memories import SUMMARY_TASK
from tests.fakes.llm_server import FakeLLMServer
from tests.test_console import run_console

MEMORY = "Wren told Aria about the lighthouse keeper's lost cat."


def is_summary(body: dict[str, Any]) -> bool:
    """Whether a request to the model asks for an automatic memory."""
    return body["messages"][0]["content"] == SUMMARY_TASK


def env(fake_llm: FakeLLMServer, **more: str) -> dict[str, str]:
    return {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
            "CHRONICLE_AUTO_MEMORY_LINES": "4", **more}


FIRST = "\n".join(['/character create name:Aria description:"A wandering bard."', "/persona set name:Wren",
                   "/chat start character:Aria",
                   *(f"The lighthouse keeper's cat is lost again (line {i})." for i in range(4))]) + "\n"


async def test_a_passage_becomes_a_memory_in_the_characters_prompt(tmp_path: Path, fake_llm: FakeLLMServer) -> None:
    fake_llm.route(is_summary, text=lambda body: MEMORY)
    database = tmp_path / "memory.db"
    code, out, err = await run_console(database, FIRST, env(fake_llm))
    assert code == 0, err
    summaries = [b for b in fake_llm.chat_requests if is_summary(b)]
    assert len(summaries) == 1 and "(line 0)" in summaries[0]["messages"][-1]["content"]
    code, out, err = await run_console(database, "/memory list\nDo you remember the cat?\n", env(fake_llm))
    assert code == 0, err
    assert f"Aria (4): {MEMORY}" in out
    reply = [b for b in fake_llm.chat_requests if not is_summary(b)][-1]
    assert f"- {MEMORY}" in reply["messages"][0]["content"]  # in Aria's prompt, under what she remembers
    engine = await Engine.open(database)
    try:
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_auto_memory_false_writes_none(tmp_path: Path, fake_llm: FakeLLMServer) -> None:
    fake_llm.route(is_summary, text=lambda body: MEMORY)
    code, out, err = await run_console(tmp_path / "off.db", FIRST + "/memory list\n",
                                       env(fake_llm, CHRONICLE_AUTO_MEMORY="false"))
    assert code == 0, err
    assert not [b for b in fake_llm.chat_requests if is_summary(b)]
    assert "No memories found." in out
