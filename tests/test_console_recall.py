"""Recall's and pins' privacy through `chronicle console` (script mode, a real subprocess): each character's prompt, as the
model server receives it, holds the old lines it witnessed and none it did not."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.llm_server import FakeLLMServer
from tests.test_console import run_console

FILLER = "We chatted about the weather and the bakery down the road for a while, nothing much"


def _system(request: dict) -> str:
    return request["messages"][0]["content"]


async def test_each_character_recalls_only_what_it_witnessed(tmp_path: Path, fake_llm: FakeLLMServer) -> None:
    fillers = "\n".join(f"{FILLER} ({i})." for i in range(30))
    script = f"""\
/character create name:Aria description:"A wandering bard."
/character create name:Bram description:"A quiet smith."
/persona set name:Wren
/chat start character:Aria guest:Bram
/memory add text:"Bram owes the miller nine silver crowns." character:Bram pinned:true
/scene open place:Cellar absent:Bram
Aria, the zeppelin tickets are hidden under the cellar stairs.
/scene close summary:"A quiet word in the cellar."
My brass telescope is cracked, Aria.
/admin rewind messages:2
/meanwhile start character:Bram premise:"Bram alone at the forge"
Aria, I keep my grandmother's quilt in the blue chest.
{fillers}
Bram, where are the zeppelin tickets, the brass telescope and my grandmother's quilt?
Aria, where are the zeppelin tickets, the brass telescope and my grandmother's quilt?
"""
    fake_llm.enqueue_text("Aria nods.")  # the cellar line
    fake_llm.enqueue_text("Aria frowns.")  # the telescope line (rewound)
    fake_llm.enqueue_text("Bram buried the emerald compass behind the forge.")  # the meanwhile digest
    code, out, err = await run_console(tmp_path / "recall.db", script, {
        "CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
        "CHRONICLE_LLM_CONTEXT_TOKENS": "2048"})
    assert code == 0, err
    bram, aria = fake_llm.chat_requests[-2], fake_llm.chat_requests[-1]
    assert "# Bram" in _system(bram) and "# Aria" in _system(aria)
    bram_text = "\n".join(m["content"] for m in bram["messages"])
    aria_text = "\n".join(m["content"] for m in aria["messages"])
    assert "— Wren: Aria, I keep my grandmother's quilt in the blue chest." in _system(bram)  # both witnessed it
    assert "— Wren: Aria, the zeppelin tickets are hidden under the cellar stairs." in _system(aria)
    assert "zeppelin tickets are hidden" not in bram_text  # a scene Bram was not in
    assert "telescope is cracked" not in bram_text and "telescope is cracked" not in aria_text  # rewound
    assert "emerald compass" not in aria_text  # a meanwhile Aria was not in
    assert "- Bram owes the miller nine silver crowns." in _system(bram)  # pinned: in every prompt of Bram's
    assert "nine silver crowns" not in aria_text  # another character's pinned memory
    assert "It is pinned: it is in every prompt of theirs." in out


async def test_the_inspector_lists_every_candidate_of_the_ranked_budget_and_its_counter(
        tmp_path: Path, fake_llm: FakeLLMServer) -> None:
    fillers = "\n".join(f"{FILLER} ({i})." for i in range(40))
    script = f"""\
/character create name:Aria description:"A wandering bard."
/persona set name:Wren
/chat start character:Aria
/memory add text:"Wren's lighthouse keeper uncle hates gulls." character:Aria
/memory add text:"Aria likes plum cake." character:Aria
/lore add book:Coast keys:lighthouse content:"The lighthouse stands on Gull Rock."
/lore attach book:Coast
Aria, the lighthouse lamp came from a shipwreck.
{fillers}
/chat prompt line:"Who keeps the lighthouse now?"
"""
    code, out, err = await run_console(tmp_path / "ranked.db", script, {
        "CHRONICLE_LLM_BASE_URL": fake_llm.base_url, "CHRONICLE_LLM_MODEL": "fake-model",
        "CHRONICLE_LLM_CONTEXT_TOKENS": "1024"})
    assert code == 0, err
    assert "\ncounted by: usage.prompt_tokens: " in out  # the fake server reports usage after every reply
    ranked = out[out.index("ranked budget:"):].splitlines()[1:]
    kept = [line.strip() for line in ranked if line.strip().startswith("✅")]
    assert any(line.startswith("✅ recall ") and "Wren: Aria, the lighthouse lamp came from a ship" in line for line in kept)
    assert any(line.startswith("✅ memory ") and "lighthouse keeper uncle" in line for line in kept)
    assert any(line.startswith("✅ lore ") and "Coast #1" in line for line in kept)
    uncle = next(float(x.split()[2]) for x in kept if "uncle" in x)
    plum = next(float(x.split()[2]) for x in ranked if "plum cake" in x)
    assert uncle > plum  # the memory the newest line asks about ranks above the one it does not
