"""SIGKILL at random points of a scripted story: mid-reply, mid-rewind, mid-reproject, mid-import.

    python -m soak.kills [--kills 200] [--seed 7] [--workdir DIR]

A worker process plays a story on one database file forever (lines answered by a model that streams
in 10 pieces over about 200 ms, a one-message rewind now and then, a whole-world reproject now and
then, a PNG character card with an image and a 50-entry book, or a 250-entry lorebook, imported now
and then) and writes every acknowledged result to an ack file as soon as the engine returns it. It says
`begin <phase>` before each step. The parent picks a phase for each round, waits for the worker to
begin it, kills it with SIGKILL at a random moment inside it, then opens the database itself:
`check` must be clean, the log gapless, and every acknowledged line, reply, rewind and import in the log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from engine import Actor, Engine
from engine.commands import AnswerLine, AuthorCharacter, ImportCharacter, ImportLorebook, RewindChat, StartChat
from engine.llm.port import ChatMessage, TextChunk
from engine.table import Upload
from engine.views import CharacterView

ROOT = Path(__file__).resolve().parent.parent
# phase → the window a kill lands in (seconds)
PHASES = {"reply": 0.3, "rewind": 0.02, "reproject": 0.6, "import": 0.015}
GUILD = "soak"


class SlowModel:
    """A LanguageModel that streams a short reply in 10 pieces, 20 ms apart."""

    async def stream(self, messages: Sequence[ChatMessage], *, stop: Sequence[str] = (),
                     max_tokens: int | None = None) -> AsyncIterator[TextChunk]:
        """The reply, piece by piece."""
        words = f"reply to {messages[-1].content[:30]} with ten pieces of text in it".split()
        for word in words[:9]:
            await asyncio.sleep(0.02)
            yield TextChunk(word + " ")
        yield TextChunk("end.", "stop")

    async def aclose(self) -> None:
        """Nothing to release."""


class QuietSink:
    """A ReplySink that shows nothing (the worker has no frontend)."""

    async def begin(self, character: CharacterView) -> None:
        """Nothing to show."""

    async def update(self, character: CharacterView, text: str) -> None:
        """Nothing to show."""

    async def finish(self, character: CharacterView, text: str) -> list[str]:
        """No frontend ids."""
        return []

    async def abort(self, character: CharacterView, error: Exception) -> None:
        """Nothing to take back."""


async def _worker(db: Path, acks: Path, seed: int) -> None:
    """Play the story until killed; ack every result the engine returned."""
    rng = random.Random(seed)
    engine = await Engine.open(db, model=SlowModel())
    admin = Actor(user_id="soak-admin", guild_id=GUILD, display_name="Ada", is_admin=True)
    if not await engine.reads.list_characters(GUILD):
        await engine.perform(AuthorCharacter(actor=admin, name="Aria", description="A bard who answers everything."))
    channel = "soak-channel"
    if await engine.reads.find_chat(channel) is None:
        await engine.perform(StartChat(actor=admin, channel_id=channel, character="Aria"))
    out = acks.open("a", encoding="utf-8")

    def ack(**record: object) -> None:
        out.write(json.dumps(record) + "\n")
        out.flush()

    def say(phase: str) -> None:
        print(f"begin {phase}", flush=True)

    step = 0
    while True:
        step += 1
        say("reply")
        line_id = f"line-{seed}-{step}"
        result = await engine.perform(AnswerLine(actor=admin, channel_id=channel, message_id=line_id,
                                                 text=f"Line {step} of run {seed}."), sink=QuietSink())
        ack(kind="user_said", id=line_id)
        for reply in result.replies:
            ack(kind="bot_replied", id=reply.message_id)
        if rng.random() < 0.25:
            say("rewind")
            rewound = await engine.perform(RewindChat(actor=admin, channel_id=channel, messages=1))
            ack(kind="chat_rewound", seq=rewound.rewind_seq)
        if rng.random() < 0.2:
            say("import")
            if rng.random() < 0.5:
                upload = Upload(filename="soak.png", data=_card_png(rng))
                card = await engine.perform(ImportCharacter(actor=admin, file=upload, name=f"Card {seed}-{step}"))
                ack(kind="card", name=card.character.name)
            else:
                book = await engine.perform(ImportLorebook(actor=admin, file=Upload(filename="soak.json",
                                                                                    data=_lorebook(seed, step))))
                ack(kind="book", name=book.name)
        if rng.random() < 0.15:
            say("reproject")
            await engine.maintenance.rebuild()
            ack(kind="reproject", done=True)


def _card_png(rng: random.Random) -> bytes:
    """A V2 card in a PNG as the apps export it: a 256×256 image with a `chara` chunk, and a 50-entry book."""
    import base64
    import io

    from PIL import Image, PngImagePlugin

    book = {"entries": [{"keys": [f"key{n}"], "content": f"Lore {n}. " * 20, "id": n} for n in range(50)]}
    card = {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": "Soak", "description": "A card imported while the process may be killed.",
                     "first_mes": "Hello.", "character_book": book}}
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(card).encode()).decode())
    image = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _lorebook(seed: int, step: int) -> bytes:
    """A SillyTavern world info file of 250 entries."""
    entries = {str(n): {"uid": n, "key": [f"word{n}"], "keysecondary": [], "content": f"Entry {n}. " * 10,
                        "comment": f"entry {n}", "constant": False, "selective": True, "order": 100,
                        "position": 0, "disable": False, "probability": 100, "useProbability": True}
               for n in range(250)}
    return json.dumps({"name": f"Book {seed}-{step}", "entries": entries}).encode()


def _acked(acks: Path) -> list[dict]:
    """Every complete ack line (a line cut by the kill is not an ack)."""
    if not acks.exists():
        return []
    return [json.loads(line) for line in acks.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def _lost(db: Path, acked: list[dict]) -> list[dict]:
    """Acknowledged results missing from the log."""
    conn = sqlite3.connect(db)
    try:
        ids = {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.message_id') FROM events WHERE kind IN ('user_said', 'bot_replied')")}
        rewinds = {row[0] for row in conn.execute("SELECT seq FROM events WHERE kind = 'chat_rewound'")}
        cards = {row[0] for row in conn.execute("SELECT name FROM characters")}
        books = {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.book.name') FROM events WHERE kind = 'lorebook_created'")}
    finally:
        conn.close()
    return [a for a in acked if (a["kind"] in ("user_said", "bot_replied") and a["id"] not in ids)
            or (a["kind"] == "chat_rewound" and a["seq"] not in rewinds)
            or (a["kind"] == "card" and a["name"] not in cards) or (a["kind"] == "book" and a["name"] not in books)]


def _gapless(db: Path) -> bool:
    conn = sqlite3.connect(db)
    try:
        count, top = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM events").fetchone()
    finally:
        conn.close()
    return count == top


async def _kill_once(db: Path, acks: Path, phase: str, seed: int, rng: random.Random) -> str | None:
    """One round: start a worker, kill it inside `phase`; return the phase it was killed in (None: not reached)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "soak.kills", "worker", str(db), str(acks), str(seed), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    killed_in = None
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            if not line:
                break
            if line.decode().strip() == f"begin {phase}":
                await asyncio.sleep(rng.uniform(0, PHASES[phase]))
                killed_in = phase
                break
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
    return killed_in


async def run(kills: int, seed: int, workdir: Path) -> dict:
    """`kills` rounds on one growing database; returns the figures."""
    rng = random.Random(seed)
    db, acks = workdir / "kills.db", workdir / "acks.jsonl"
    killed: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    await _seed(db)
    for round_no in range(kills):
        phase = rng.choice(sorted(PHASES))
        where = await _kill_once(db, acks, phase, seed * 10_000 + round_no, rng)
        killed[where or "elsewhere"] += 1
        if _reproject_interrupted(db):
            killed["reproject, its copies left behind"] += 1
        engine = await Engine.open(db)  # recovery: leftovers of a killed reproject dropped, projection caught up
        try:
            report = await engine.maintenance.check()
        finally:
            await engine.close()
        lost = _lost(db, _acked(acks))
        if not report.clean or lost or not _gapless(db):
            failures.append(f"round {round_no} ({where}): clean={report.clean} lost={lost[:3]} "
                            f"gapless={_gapless(db)} {list(report.differences)[:3]}")
    acked = _acked(acks)
    return {"kills": kills, "killed_in": dict(killed), "acknowledged": len(acked),
            "acknowledged_lost": len(_lost(db, acked)), "check_failures": len(failures), "failures": failures[:5],
            "events": _count(db), "seconds": round(time.perf_counter() - started, 1)}


async def _seed(db: Path) -> None:
    """A world of about 11,000 events, so that a reproject takes long enough to be killed in the middle."""
    from engine.demo import fill

    engine = await Engine.open(db)
    try:
        await fill(engine, chats=10, messages=1000, seed=3)
    finally:
        await engine.close()


def _reproject_interrupted(db: Path) -> bool:
    """Whether a killed reproject left its copies (or the old tables) in the file."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                            " AND (name LIKE '%\\_\\_next' ESCAPE '\\' OR name LIKE '%\\_\\_old' ESCAPE '\\')"
                            ).fetchone()[0] > 0
    finally:
        conn.close()


def _count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    """`worker DB ACKS SEED` (the child), or the parent that kills it."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        from config.logging import configure_logging

        configure_logging("console", "critical")
        asyncio.run(_worker(Path(argv[1]), Path(argv[2]), int(argv[3])))
        return 0
    parser = argparse.ArgumentParser(prog="python -m soak.kills")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    from config.logging import configure_logging

    configure_logging("console", "critical")
    with tempfile.TemporaryDirectory(prefix="chronicle-kills-") as scratch:
        result = asyncio.run(run(args.kills, args.seed, args.workdir or Path(scratch)))
    print(json.dumps(result))
    return 0 if not result["check_failures"] and not result["acknowledged_lost"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
