"""`chronicle console` driven through stdin by a script, as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from engine import Engine
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """\
/character create name:Aria description:"A wandering bard with a silver lute." greeting:"Well met, {{user}}!"
/persona set name:Wren description:"A traveller from the north"
/chat start character:Aria place:"The Gilded Stag" weather:fog
Hello, Aria! Play me a song?
(( this line is out of character and ignored ))
/time skip by:3h summary:"Three hours of songs pass."
/chat status
Another song, please.
/admin rewind messages:2
/chat start character:Aria
/time skip by:-3h
/character create name:"NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN" description:x
/chat start character:Nobody
"""


async def run_console(database: Path, script: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `chronicle console` with `script` on stdin; return (exit code, stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--database", str(database), cwd=ROOT, env={**clean, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=120)
    return process.returncode, out.decode(), err.decode()


async def test_a_scripted_session_and_the_database_agree(tmp_path: Path, fake_llm: FakeLLMServer):
    fake_llm.enqueue_text("Aria tunes her lute and sings of the northern roads.", chunks=4)
    fake_llm.enqueue_text("Aria laughs and plays a jig.", chunks=2)
    db = tmp_path / "console.db"
    code, out, err = await run_console(db, SCRIPT, {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url,
                                                    "CHRONICLE_LLM_MODEL": "fake-model"})
    assert code == 0, err
    assert "Created Aria." in out and "You are now Wren." in out
    assert "Aria: Well met, Wren!" in out
    assert "Aria: Aria tunes her lute and sings of the northern roads." in out
    assert "[Three hours of songs pass.] It is now Day 1, 11:00" in out
    assert "Aria: Aria laughs and plays a jig." in out
    assert "Rewound the story to event" in out and "2 message(s) left the story" in out
    assert "error: This channel already has a story going." in out
    assert "error: Time only moves forward" in out
    assert "error: name: at most 64 characters (got 100)." in out
    assert "error: There is no character named 'Nobody'" not in out  # the channel's story is still open
    assert "error: This channel already has a story going." in out
    assert "out of character" not in "".join(r["messages"][-1]["content"] for r in fake_llm.chat_requests)

    engine = await Engine.open(db)
    try:
        chat = await engine.reads.get_chat("console:main")
        lines = [(m.speaker, m.text) for m in await engine.reads.transcript(chat.chat_id)]
        assert lines == [("Aria", "Well met, Wren!"), ("Wren", "Hello, Aria! Play me a song?"),
                         ("Aria", "Aria tunes her lute and sings of the northern roads."),
                         ("Narrator", "Three hours of songs pass.")]
        assert chat.weather == "fog" and chat.story_minute == 11 * 60
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()


async def test_out_of_the_box_the_console_talks_to_the_bundled_model(tmp_path: Path):
    script = ('/character create name:Aria description:"A friendly innkeeper."\n'
              "/chat start character:Aria\nHello! Do you have a room for the night?\n")
    code, out, err = await run_console(tmp_path / "bundled.db", script, {})
    assert code == 0, err
    assert "bundled demo model" in err and "CHRONICLE_LLM_BASE_URL" in err
    reply = out.split("> Hello! Do you have a room for the night?\n", 1)[1]
    assert reply.startswith("Aria: ") and len(reply.strip()) > len("Aria:")
    assert "error" not in reply


async def test_look_alike_and_invisible_names_foreign_digits_and_repeated_options_in_a_script(
        tmp_path: Path, fake_llm: FakeLLMServer):
    script = ("/character create name:Aria description:\"A wandering bard.\" greeting:\"Well met!\"\n"
              "/character create name:\u0410ria description:\"An impostor with a Cyrillic A.\"\n"
              "/character create name:\"\u200b\" description:\"Nobody at all.\"\n"
              "/persona set name:\"\u3164\"\n"
              "/character create name:Bram name:Brom description:\"A smith.\"\n"
              "/chat start character:\u0410ria\n"
              "/time skip by:\u0663h summary:\"Time passes.\"\n"
              "/memory add text:\"Aria owes Wren a song.\" importance:\u0663\n"
              "/time skip by:3h summary:\"Three hours pass.\"\n")
    db = tmp_path / "names.db"
    code, out, err = await run_console(db, script, {"CHRONICLE_LLM_BASE_URL": fake_llm.base_url,
                                                    "CHRONICLE_LLM_MODEL": "fake-model"})
    assert code == 0, err
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: '\u0410ria' looks like the existing character 'Aria'; choose a name that reads differently.",
        "error: name: has no visible character (only spaces, invisible or combining characters); use letters, "
        "digits or symbols people can see.",
        "error: name: has no visible character (only spaces, invisible or combining characters); use letters, "
        "digits or symbols people can see.",
        "error: name: given twice; give each option once. Usage: /character create name:… description:… "
        "[personality:…] [scenario:…] [greeting:…] [example_dialogue:…] [avatar_url:…]",
        "error: '\u0663h' is not a duration: write it with the digits 0-9, like 3h, 2d, 1h30m or 45m.",
        "error: importance: must be a whole number from 1 to 10 written with the digits 0-9, not '\u0663'.",
    ], out
    assert "Aria: Well met!" in out  # /chat start character:Аria started the story with Aria
    engine = await Engine.open(db)
    try:
        assert [c.name for c in await engine.reads.list_characters("console")] == ["Aria"]
        assert (await engine.reads.get_chat("console:main")).story_minute == 11 * 60  # only the 3h skip moved time
        assert (await engine.maintenance.check()).clean
    finally:
        await engine.close()
