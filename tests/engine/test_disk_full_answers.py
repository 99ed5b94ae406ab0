"""On a filling disk every answer matches the log: "not recorded" only when nothing was, and a line kept without
its reply says so (an operator found 11 of 37 lines answered "nothing more can be recorded" in the log, so whoever
typed them again recorded them twice). A real 3 MB tmpfs, as in test_disk_full."""

from __future__ import annotations

import io
from pathlib import Path

from bot.console.app import Console
from bot.discord.errors import describe
from engine import Actor, Engine, StorageError
from engine.storage.sqlite_faults import disk_full
from tests.engine.test_disk_full import cramped, fill_disk  # noqa: F401  (the engine on a 3 MB file system)

REPLIED, KEPT, REFUSED = "Mira: Reply", "error: your line is part of the story, but no reply was recorded: the disk " \
    "holding", "error: the disk holding"


async def test_every_answer_on_a_filling_disk_matches_the_log(cramped: tuple[Engine, Path]):  # noqa: F811
    engine, _ = cramped
    out = io.StringIO()
    console = Console(engine, channel="filling", out=out)
    await console.handle('/character create name:Mira description:"A lighthouse keeper."')
    await console.handle("/chat start character:Mira")
    answers: dict[str, list[str]] = {REPLIED: [], KEPT: [], REFUSED: []}
    for i in range(2_000):
        text, shown = f"line {i} " + " ".join(["words"] * 600), len(out.getvalue())
        await console.handle(text)
        answer = out.getvalue()[shown:]
        kind = next((k for k in (REPLIED, KEPT, REFUSED) if answer.startswith(k)), None)
        assert kind is not None and answer.count("\n") == 1, answer
        answers[kind].append(text)
        if len(answers[REFUSED]) == 30:
            break
    chat = await engine.reads.get_chat("console:filling")
    logged = {m.text for m in await engine.reads.transcript(chat.chat_id, limit=100_000) if m.role != "character"}
    assert answers[REPLIED] and len(answers[REFUSED]) == 30
    assert all(text in logged for text in answers[REPLIED] + answers[KEPT])  # "recorded": in the log
    assert not any(text in logged for text in answers[REFUSED])  # "not recorded": not in the log


def test_discord_tells_a_person_whose_line_was_kept_not_to_send_it_again(tmp_path: Path):
    path = tmp_path / "world.db"
    kept = disk_full(path).after("your line is part of the story, but no reply was recorded")
    assert isinstance(kept, StorageError) and kept.kind == "full" and kept.kept
    text = describe(kept).text
    assert text.startswith("Your line is part of the story, but no reply was recorded (Chronicle's disk is full). "
                           "Don't send it again. (error id `"), text
    assert "nothing was recorded" not in text and str(path) not in text
    assert describe(disk_full(path)).text.startswith("Chronicle's disk is full, so nothing was recorded.")


async def test_a_story_started_without_room_for_its_greeting_says_it_started(cramped: tuple[Engine, Path],  # noqa: F811
                                                                            admin: Actor):
    engine, small = cramped
    out = io.StringIO()
    console = Console(engine, channel="nearly-full", out=out)
    await console.handle('/character create name:Mira description:"A lighthouse keeper." greeting:"Welcome."')
    await fill_disk(engine, small, leave=128 * 1024)  # room for a few pages, not for a reply
    await console.handle("/chat start character:Mira")
    assert out.getvalue().splitlines()[-1].startswith(
        "error: the story has started, but its greeting was not recorded: the disk holding")
    assert await engine.reads.find_chat("console:nearly-full") is not None  # started indeed: not to be started again
