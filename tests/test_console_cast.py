"""A group story in `chronicle console` (script mode, a real subprocess): a cast of four, each turn rule (with
`mentioned` answering nobody), a reply cut where it runs on into another's line, the chain limit, a nudge, and a
reproject that keeps every speaker."""

from __future__ import annotations

import re
from pathlib import Path

from engine import Engine
from tests.fakes.llm_server import FakeLLMServer
from tests.test_console import run_console

SCRIPT = """\
/character create name:Aria description:"The bard."
/character create name:Bram description:"The smith."
/character create name:Cora description:"The thief."
/character create name:Dov description:"The cook."
/character edit name:Aria field:talkativeness value:1
/character edit name:Bram field:talkativeness value:0
/character edit name:Cora field:talkativeness value:1
/character edit name:Dov field:talkativeness value:0
/persona set name:Wren description:"A traveller"
/chat start character:Aria guest:Bram
/chat cast add character:Cora
/chat cast add character:Dov
/chat cast list
Evening.
/chat turns rule:natural
Anyone?
Dov and Bram, a word.
Evening, all.
/chat turns rule:list
Round the table!
/chat turns rule:mentioned
Quiet night.
cora?
/chat turns rule:pooled
Who is next?
/chat turns rule:manual
Hm.
/chat nudge character:Dov
/chat status
"""


def speakers(out: str) -> list[str]:
    """The character lines the console printed, by speaker, between the person's lines ('>' echoes)."""
    rounds: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("> "):
            rounds.append([])
        elif rounds and (match := re.match(r"^(Aria|Bram|Cora|Dov): ", line)):
            rounds[-1].append(match.group(1))
    return [",".join(r) for r in rounds]


async def test_a_cast_of_four_takes_turns_by_each_rule(tmp_path: Path, fake_llm: FakeLLMServer):
    fake_llm.enqueue_text("Welcome in, Wren.\nBram: Hah, welcome!\nWren: thanks", chunks=5)
    db = tmp_path / "group.db"
    code, out, err = await run_console(db, SCRIPT, {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url,
                                                    "CHRONICLE_LLM_MODEL": "fake-model"})
    assert code == 0, err
    assert "1. Aria\n2. Bram\n3. Cora\n4. Dov" in out
    turns = dict(zip([line[2:] for line in out.splitlines() if line.startswith("> ")], speakers(out), strict=True))
    assert turns["Evening."] == "Aria"  # no rule chosen yet: the host
    assert "Aria: Welcome in, Wren.\n> /chat turns" in out  # cut where it ran on into Bram's and Wren's lines
    assert "Hah, welcome!" not in out and "thanks" not in out
    assert turns["Anyone?"] == "Cora"  # natural: Aria spoke last; only Cora's roll (talkativeness 1) can win
    assert turns["Dov and Bram, a word."] == "Dov,Bram"  # named, in the order named
    assert turns["Evening, all."] == "Aria,Cora"
    assert turns["Round the table!"] == "Aria,Bram,Cora"  # list, cut at CHRONICLE_MAX_CHAIN (3)
    assert turns["Quiet night."] == ""  # mentioned: nobody named, nobody answers
    assert turns["cora?"] == "Cora"
    assert turns["Who is next?"] in ("Aria", "Bram", "Dov")  # pooled: not Cora, who answered the line before
    assert turns["Hm."] == "" and turns["/chat nudge character:Dov"] == "Dov"
    assert "Aria, Bram, Cora, Dov · Day 1, 08:00 (Day 1, morning) · clear · turns: manual" in out
    first = next(r for r in fake_llm.chat_requests if "Evening." in str(r["messages"][-2:]))
    assert {"\nBram:", "\nWren:"} <= set(first["stop"])
    assert "It is Aria's turn" in first["messages"][-1]["content"]

    engine = await Engine.open(db)
    try:
        chat = await engine.reads.get_chat("console:main")
        before = [(m.speaker, m.text) for m in await engine.reads.transcript(chat.chat_id)]
        assert ("Aria", "Welcome in, Wren.") in before
        await engine.maintenance.rebuild()
        assert [(m.speaker, m.text) for m in await engine.reads.transcript(chat.chat_id)] == before
    finally:
        await engine.close()
