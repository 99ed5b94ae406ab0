"""`chronicle console` and `chronicle card`: cards and lorebooks from files on disk, as real subprocesses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from engine.cards import parse_card
from tests.engine.cards.builders import V2, V3, b64, dump, png_with
from tests.fakes.llm_server import FakeLLMServer
from tests.test_cli import chronicle
from tests.test_console import ROOT, run_console


async def test_cards_and_lore_in_a_console_session(tmp_path: Path, fake_llm: FakeLLMServer) -> None:
    card = copy.deepcopy(V2)
    card["data"]["character_book"]["entries"][0]["extensions"]["useProbability"] = False
    (tmp_path / "sera.png").write_bytes(png_with([("iTXt", "chara", b64(card))]))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    world = {"entries": {"0": {"uid": 0, "key": ["dragon"], "content": "Dragons sleep under the hills."}}}
    (tmp_path / "Eldoria.json").write_text(json.dumps(world))
    fake_llm.enqueue_text("The forest hums.")
    script = f"""\
/character import file:{tmp_path / 'sera.png'}
/character import file:{tmp_path / 'sera.png'}
/character import file:{tmp_path / 'broken.png'}
/character show name:Seraphina
/lore import file:{tmp_path / 'Eldoria.json'}
/persona set name:Wren
/chat start character:Seraphina greeting:2
/reply greeting number:3
/lore attach book:Eldoria
/lore add book:Eldoria keys:ship content:"Ships sail east." sticky:2
/lore toggle book:Eldoria entry:2
Is the forest safe? And the dragon?
/chat prompt
/character export name:Seraphina out:{tmp_path / 'out' / 'sera'}
/lore show book:Eldoria
"""
    code, out, err = await run_console(tmp_path / "c.db", script, {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url,
                                                                    "CHRONICLE_LLM_MODEL": "fake-model"})
    assert code == 0, err
    assert "Seraphina joins the cast, imported from a V2 PNG card with a lorebook of 1 entry" in out
    assert "error: A character named 'Seraphina' already exists here. Import again with replace:true" in out
    assert "error: This PNG is damaged or cut short" in out
    assert "Creator notes: Be nice." in out and "Lorebook Eldoria is here with 1 entry." in out
    assert "Seraphina: Hi!" in out and "Seraphina: Welcome." in out
    assert "Eldoria #2 is now off." in out
    assert "# Lore\nThe forest is enchanted.\n\nDragons sleep under the hills." in out
    assert "✅ Sera's book #1 forest" in out and "✅ Eldoria #1 dragon" in out
    assert "#2 [off] ship — ship: Ships sail east." in out
    exported = tmp_path / "out" / "sera.png"
    assert parse_card(exported.read_bytes(), "sera.png").card == parse_card(dump(card), "sera.json").card


def test_card_export_and_import_from_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    (tmp_path / "corin.json").write_text(json.dumps(V3))
    done = chronicle("card", "import", str(tmp_path / "corin.json"), "--guild", "g-1", "--database", db, cwd=ROOT)
    assert done.returncode == 0 and "Seraphina joins the cast, imported from a V3 JSON card with a lorebook of 1 entry" in done.stdout, done.stderr
    out = tmp_path / "exported.png"
    done = chronicle("card", "export", "Seraphina", "--out", str(out), "--guild", "g-1", "--database", db, cwd=ROOT)
    assert done.returncode == 0 and f"wrote {out}" in done.stdout, done.stderr
    assert parse_card(out.read_bytes(), "x.png").card == parse_card(dump(V3), "x.json").card
    missing = chronicle("card", "export", "Seraphina", "--out", str(out), "--database", db, cwd=ROOT)
    assert missing.returncode == 1 and missing.stderr.strip() == (
        "chronicle: There is no character named 'Seraphina' in this server. See /character list.")


async def test_a_hostile_lore_key_stalls_nothing_and_a_cards_book_is_listed(tmp_path: Path,
                                                                            fake_llm: FakeLLMServer) -> None:
    """The operator's reproduction: `/(a+)+$/` hung the old matcher for ever on a long line of a's (the next line
    too, as the line stays in the scan window); under RE2 it is linear. Keys RE2 can't run are refused."""
    card = copy.deepcopy(V2)
    card["data"]["character_book"]["entries"][0]["extensions"]["useProbability"] = False
    (tmp_path / "sera.json").write_text(json.dumps(card))
    evil = copy.deepcopy(V2)
    evil["data"]["name"] = "Mallory"
    evil["data"]["character_book"]["entries"][0]["keys"] = ["/(\\w+)\\s\\1/"]
    (tmp_path / "mallory.json").write_text(json.dumps(evil))
    fake_llm.enqueue_text("Hm.")
    fake_llm.enqueue_text("Hm!")
    fake_llm.enqueue_text("Aaah.")
    a_line = "a" * 40 + "!"
    script = f"""\
/character import file:{tmp_path / 'sera.json'}
/character import file:{tmp_path / 'mallory.json'}
/chat start character:Seraphina
/lore list
/lore add book:Evil keys:"/(a+)+$/" content:EVIL
/lore add book:Evil keys:"/(a)\\1/" content:EVIL2
/lore attach book:Evil
{a_line}
{a_line}
{a_line[:-1]}
/chat prompt
/lore list
"""
    code, out, err = await run_console(tmp_path / "c.db", script, {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url,
                                                                    "CHRONICLE_LLM_MODEL": "fake-model"})
    assert code == 0, err
    assert ("error: Can't import the card: its lorebook's entry 1, key '/(\\w+)\\s\\1/': backreferences are not "
            "supported; write the key without them, then import it again.") in out
    card_book = "Sera's book — 1 entry · in Seraphina's card (read-only: it changes when the card is imported again)"
    assert out.count(card_book) == 2 and "No lorebooks." not in out
    assert "Added entry #1 to Evil." in out
    assert "error: entry 2, key '/(a)\\1/': backreferences are not supported; write the key without them." in out
    assert "Seraphina: Hm." in out and "Seraphina: Hm!" in out and "Seraphina: Aaah." in out
    systems = [request["messages"][0]["content"] for request in fake_llm.chat_requests]
    assert ["EVIL" in system for system in systems] == [False, False, True]  # the key works: the last line is all a's
    assert "Evil — 1 entry · attached to 1 channel\n" in out


def test_chronicle_card_import_refuses_a_book_key_re2_cannot_run(tmp_path: Path) -> None:
    evil = copy.deepcopy(V3)
    evil["data"]["character_book"]["entries"][0]["keys"] = ["/(?<=old )tower/"]
    (tmp_path / "evil.json").write_text(json.dumps(evil))
    db = str(tmp_path / "cli.db")
    done = chronicle("card", "import", str(tmp_path / "evil.json"), "--guild", "g-1", "--database", db, cwd=ROOT)
    assert done.returncode == 1 and done.stderr.strip() == (
        "chronicle: Can't import the card: its lorebook's entry 1, key '/(?<=old )tower/': lookbehind ((?<=…) or "
        "(?<!…)) is not supported; write the key without it, then import it again.")
