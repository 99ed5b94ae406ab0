"""Hostile input: numbers range-checked, control characters refused in names and neutralised on the terminal,
look-alike names that can't shadow a character, unclosed quotes, and a property run over every console
command's options (each generated line: no crash, no event when refused, a readable answer)."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
import sys
import time
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.console.app import Console, ConsoleError, parse_command
from bot.console.commands import COMMANDS
from engine import Actor, DomainError, Engine, InvalidInput, store
from engine.commands import AuthorCharacter, CreatePlace, EditCharacter, OpenScene, SetPersona, SetWeather, StartChat
from engine.text import name_key, terminal_safe

HOSTILE_CHARS = "\x00\x07\x08\x1b\x7f\x85\x9b\u202e\u2066\u200b\u200d\ufeff\ufffd\"\\:'`*_\n\t "
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_unclosed_quotes_are_an_error():
    with pytest.raises(ConsoleError, match='name: the quote is not closed'):
        parse_command('/character create name:"Unclosed description:x')
    with pytest.raises(ConsoleError, match="quote is not closed"):
        parse_command('/weather set weather:"')
    assert parse_command('/weather set weather:"say \\"hi\\""') == ("weather set", {"weather": 'say "hi"'})


def test_an_unquoted_value_runs_to_the_commands_next_option():
    assert parse_command("/character create name:Aria description:A bard with a lute. greeting:Well met, {{user}}!"
                         ) == ("character create", {"name": "Aria", "description": "A bard with a lute.",
                                                    "greeting": "Well met, {{user}}!"})
    # a `word:` that is none of the command's options stays in the value; quotes keep an option's name in one
    assert parse_command("/lore add book:Town keys:forge, anvil content:Rule: no iron. see: below") == (
        "lore add", {"book": "Town", "keys": "forge, anvil", "content": "Rule: no iron. see: below"})
    assert parse_command('/lore add book:Town keys:x content:"name: kept"') == (
        "lore add", {"book": "Town", "keys": "x", "content": "name: kept"})
    with pytest.raises(ConsoleError, match=r"^/character create has no option 'descrption' \(did you mean "
                                           r"description\?\)"):
        parse_command("/character create name:Aria descrption:A bard")  # a misspelt option is not part of a value
    with pytest.raises(ConsoleError, match="^name: put a space after the closing quote"):
        parse_command('/character create name:"Aria"x description:y')


def test_terminal_output_is_neutralised():
    assert terminal_safe("a\x1b[31mred\x07\u202eevil\x00") == "a\\x1b[31mred\\x07\\u202eevil\\x00"
    assert terminal_safe("line one\n\tline two é 漢字 🎲") == "line one\n\tline two é 漢字 🎲"
    assert terminal_safe("a\r\nb\rc") == "a\nb\\x0dc"  # a Windows line end is a line end; a lone CR can't overwrite


def test_names_compare_after_normalisation():
    assert len({name_key(n) for n in ("Aria", "ARIA", "Ar\u200bia", "Ａｒｉａ", " aria ", "A\u00ADria")}) == 1
    assert name_key("Aria Vale") != name_key("AriaVale")


async def test_control_characters_are_refused_in_names_weather_personas_and_places(engine: Engine, admin: Actor,
                                                                                    db_path: Path):
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard."))
    await engine.perform(StartChat(actor=admin, channel_id="chan-1", character="Aria"))
    before = await engine.db.read(store.last_seq)
    attempts = [
        lambda: engine.perform(AuthorCharacter(actor=admin, name="Ev\x1b[31mil", description="x")),
        lambda: engine.perform(EditCharacter(actor=admin, name="Aria", field="name", value="Ar\x01ia")),
        lambda: engine.perform(SetPersona(actor=admin, name="Wren\x07", description="x")),
        lambda: engine.perform(SetPersona(actor=admin, name="Wren", description="a \u202edescription")),
        lambda: engine.perform(SetWeather(actor=admin, channel_id="chan-1", weather="rain\u202e")),
        lambda: engine.perform(CreatePlace(actor=admin, channel_id="chan-1", name="The\x9bInn", description="")),
        lambda: engine.perform(OpenScene(actor=admin, channel_id="chan-1", place="Hall\u2066")),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput, match=r"control character U\+"):
            await attempt()
    assert await engine.db.read(store.last_seq) == before
    await engine.perform(SetPersona(actor=admin, name="Wren", description="Two lines\nof description\twith a tab."))
    assert (await engine.perform(SetPersona(actor=admin, name="Wr\x00en", description=""))).name == "Wren"  # a NUL is taken out of every command


async def test_a_look_alike_name_cannot_shadow_a_character(engine: Engine, admin: Actor):
    await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard."))
    for look_alike in ("Ar\u200bia", "ARIA", "Ａｒｉａ", "A\u00ADria", "\u0410ria"):
        with pytest.raises(DomainError, match="looks like the existing character 'Aria'; choose a name that reads"):
            await engine.perform(AuthorCharacter(actor=admin, name=look_alike, description="An impostor."))
    with pytest.raises(DomainError, match="already exists"):
        await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="The same name."))
    assert [c.name for c in await engine.reads.list_characters(admin.guild_id)] == ["Aria"]
    assert (await engine.reads.get_character(admin.guild_id, "ａｒｉａ")).name == "Aria"


async def test_numbers_are_range_checked_in_the_console(engine: Engine):
    out = io.StringIO()
    console = Console(engine, channel="nums", out=out)
    await console.handle('/character create name:Aria description:"A bard."')
    await console.handle("/chat start character:Aria")
    before = await engine.db.read(store.last_seq)
    for line in ("/admin rewind messages:999999999999999999999", "/admin rewind to:99999999999999999999999",
                 "/admin rewind to:99999999", "/admin log limit:-1", "/admin log limit:0",
                 "/memory add text:x importance:1e3", "/memory add text:x importance:١٢",
                 '/chat start character:Aria time:"Day 99999999999999999999 08:00"'):
        await console.handle(line)
    answers = out.getvalue().splitlines()[-8:]
    assert all(a.startswith("error: ") for a in answers), answers
    assert "limit: must be a whole number from 1 to 50" in answers[3]
    assert await engine.db.read(store.last_seq) == before


# --- the property: every console command, hostile options --------------------------------------------

_text = st.text(alphabet=st.sampled_from(HOSTILE_CHARS) | st.characters(codec="utf-8"), max_size=40)
_number = st.integers(min_value=-(10**25), max_value=10**25).map(str)
_value = st.one_of(_text, _number, st.sampled_from(["Aria", "Bram", "Tavern", "3h", "Day 2 09:00", "", "-0",
                                                   "99999999999999999999999", "1e9", "mem_x", "noon"]))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Commands with options are drawn five times as often as those without (whose only input is a bogus option,
# and some of which, like /admin reproject, are slow by nature).
PATHS = [p for p in sorted(COMMANDS) for _ in range(5 if COMMANDS[p].required or COMMANDS[p].optional else 1)]
EXPORT_TO = Path("/tmp")  # replaced by the test's own folder: exports never land outside it


@st.composite
def console_lines(draw: st.DrawFn) -> str:
    """A console line: a known command with some of its options (and sometimes an unknown one) set to
    hostile values, quoted or not, or a broken line."""
    path = draw(st.sampled_from(PATHS))
    spec = COMMANDS[path]
    keys = [k for k in (*spec.required, *spec.optional) if draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0:
        keys.append(draw(st.sampled_from(["bogus", "x", "name"])))
    parts = [f"/{path}"]
    for key in keys:
        value = draw(_value) if key != "out" else draw(st.sampled_from(
            [str(EXPORT_TO / "exports"), "/proc/x", str(EXPORT_TO / "bad\x00name"), str(EXPORT_TO / "f" / "..")]))
        parts.append(f"{key}:{_quote(value) if draw(st.booleans()) else value.replace(chr(10), ' ')}")
    line = " ".join(parts)
    if draw(st.integers(0, 19)) == 0:
        line += ' tail:"unclosed'
    return line.replace("\n", " ")  # the console reads lines: a line holds no newline


class _Run:
    """One engine and console for the whole property run (a fresh database per test)."""

    def __init__(self, db_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = self.loop.run_until_complete(Engine.open(db_path))
        self.log = sqlite3.connect(db_path)  # counts events without a thread hop
        self.out = io.StringIO()
        self.console = Console(self.engine, channel="prop", out=self.out)
        self.cases = 0
        for line in ('/character create name:Aria description:"A bard."',
                     '/character create name:Bram description:"A smith."', "/chat start character:Aria"):
            self.loop.run_until_complete(self.console.handle(line))

    def answer(self, line: str) -> tuple[str, int]:
        """The console's answer to a line, and how many events it appended."""
        before = store.last_seq(self.log)
        start = self.out.tell()
        self.loop.run_until_complete(self.console.handle(line))
        self.out.seek(0, io.SEEK_END)
        after = store.last_seq(self.log)
        self.cases += 1
        return self.out.getvalue()[start:], after - before

    def close(self) -> None:
        self.log.close()
        self.loop.run_until_complete(self.engine.close())
        self.loop.close()


BATCH = 10  # lines per generated example (hypothesis's own cost is per example)
PROPERTY_CASES = int(__import__("os").environ.get("CHRONICLE_PROPERTY_CASES", "10000"))


def test_every_console_command_answers_hostile_options_with_a_readable_line(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "EXPORT_TO", tmp_path)
    logging_was = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    run = _Run(tmp_path / "property.db")
    started = time.perf_counter()

    @settings(max_examples=PROPERTY_CASES // BATCH, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(console_lines(), min_size=BATCH, max_size=BATCH))
    def answers_well(lines: list[str]) -> None:
        for line in lines:
            answer, appended = run.answer(line)
            assert answer.strip(), line  # every line is answered
            assert "something went wrong" not in answer, (line, answer)  # no crash
            assert "Traceback" not in answer and RAW_CONTROL.search(answer) is None, (line, answer)  # readable
            if answer.startswith("error:"):
                assert appended == 0, (line, answer)  # refused: nothing recorded
                assert answer.count("\n") == 1, (line, answer)  # one line

    try:
        answers_well()
    finally:
        run.close()
        structlog.configure(**logging_was)
    assert run.cases >= PROPERTY_CASES
    print(f"\nproperty: {run.cases} console lines in {time.perf_counter() - started:.1f}s")
