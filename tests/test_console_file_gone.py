"""The database file deleted while `chronicle console` runs (a real process, lines fed one at a time): every answer
after the deletion is the one line saying nothing more is recorded, `/admin check` included, and nothing is
shown as recorded that is gone at exit."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent


class Session:
    """A console process fed line by line; `say` returns what a line printed (its echo and a marker fence it)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.marks = 0

    async def say(self, line: str) -> list[str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.marks += 1
        fence = f"// mark {self.marks}"
        self.process.stdin.write(f"{line}\n{fence}\n".encode())
        await self.process.stdin.drain()
        printed: list[str] = []
        while (got := (await asyncio.wait_for(self.process.stdout.readline(), 60)).decode().rstrip("\n")) \
                != f"> {fence}":
            printed.append(got)
        assert printed[0] == f"> {line}", printed
        return printed[1:]


async def test_every_answer_after_the_file_is_deleted_says_nothing_more_is_recorded(tmp_path: Path,
                                                                                    fake_llm: FakeLLMServer):
    db = tmp_path / "world.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    env.update(CHRONICLE_LLM_BASE_URL=fake_llm.base_url, CHRONICLE_LLM_MODEL="fake-model")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--database", str(db), cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    session = Session(process)
    await session.say('/character create name:Mira description:"A lighthouse keeper." greeting:"Welcome."')
    started = await session.say("/chat start character:Mira")
    assert "Mira: Welcome." in started, started
    replied = await session.say("Hello, Mira.")
    assert replied and replied[-1].startswith("Mira: Reply"), replied
    asked = len(fake_llm.chat_requests)

    db.unlink()
    gone = (f"error: the database file {db} was deleted or replaced while Chronicle was running; nothing more is "
            "recorded. Restore it from a backup or restart Chronicle.")
    for line in ("Are you still there?", '/memory add text:"the lamp is lit"', "/time skip by:1h", "/admin check",
                 "One more line."):
        assert await session.say(line) == [gone], line
    assert len(fake_llm.chat_requests) == asked  # no reply was generated, so none was shown

    assert process.stdin is not None
    process.stdin.close()
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0 and "Traceback" not in err.decode(), err.decode()[-2000:]
    assert sorted(os.listdir(tmp_path)) == []  # nothing re-created; the old file's -wal and -shm removed
