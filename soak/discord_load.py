"""Many channels at once through the local fake Discord, with a model that answers in 50-500 ms.

    python -m soak.discord_load [--channels 100] [--messages 20] [--slots 16]

`chronicle run` (the production entry point, in a child process, configured through the environment)
talks to the loopback fake Discord and the fake model server, which run here with the script that
drives them. Each channel gets a story by slash command,
then a person says `--messages` lines, each after the previous one was answered, with a /weather
command halfway; all channels at once. Afterwards: every line recorded exactly once and in the order
it was said, every line answered, every interaction acknowledged within Discord's 3 seconds, and the
bot process's memory (RSS) sampled every 2 s as the run goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes.discord import FakeChannel, FakeDiscord, FakeMember, InteractionRecord
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


class Load:
    """One run: the fakes, the bot's process, and what was sent and measured."""

    def __init__(self, fd: FakeDiscord, pid: int, messages: int) -> None:
        self.fd, self.pid, self.messages = fd, pid, messages
        self.sent: dict[int, list[int]] = {}
        self.interactions: list[InteractionRecord] = []
        self.rss: list[float] = []
        self.reply_seconds: list[float] = []

    async def command(self, channel: FakeChannel, member: FakeMember, path: str, options: dict) -> None:
        record = await self.fd.invoke_command(channel, member, path, options)
        self.interactions.append(record)
        await record.wait_done(30)

    def replies_in(self, channel: FakeChannel) -> int:
        return sum(1 for m in self.fd.messages_in(channel) if m.webhook_id and m.username == "Aria")

    async def conversation(self, channel: FakeChannel, member: FakeMember) -> None:
        """`messages` lines, each after the previous one was answered; /weather halfway."""
        self.sent[channel.id] = []
        for index in range(self.messages):
            if index == self.messages // 2:
                await self.command(channel, member, "weather set", {"weather": f"fog {index}"})
            started = time.monotonic()
            said = await self.fd.user_says(channel, member, f"Line {index} in {channel.name}.")
            self.sent[channel.id].append(said.id)
            await self.fd.wait_for(lambda index=index: self.replies_in(channel) > index, timeout=120)
            self.reply_seconds.append(time.monotonic() - started)

    async def sample_memory(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.rss.append(rss_mb(self.pid))
            try:
                await asyncio.wait_for(stop.wait(), 2.0)
            except TimeoutError:
                pass


def verify(db: Path, load: Load) -> dict:
    """Recorded once, in order, answered: from the log itself."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT seq, json_extract(payload, '$.message_id'), chat_id FROM events"
                            " WHERE kind = 'user_said' ORDER BY seq").fetchall()
        replies = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'bot_replied'").fetchone()[0]
        chats = dict(conn.execute("SELECT chat_id, channel_id FROM chats").fetchall())
    finally:
        conn.close()
    recorded: dict[int, list[int]] = {}
    for _, message_id, chat_id in rows:
        recorded.setdefault(int(chats[chat_id]), []).append(int(message_id))
    sent = sum(len(v) for v in load.sent.values())
    twice = len(rows) - len({r[1] for r in rows})
    out_of_order = sum(1 for channel, ids in load.sent.items() if recorded.get(channel) != ids)
    acks = [r.responded_at - r.created_at for r in load.interactions if r.responded_at is not None]
    return {"lines_sent": sent, "lines_recorded": len(rows), "recorded_twice": twice,
            "channels_out_of_order": out_of_order, "replies_recorded": replies,
            "interactions": len(load.interactions), "interactions_late_or_unanswered":
                sum(1 for r in load.interactions if r.rejected or r.responded_at is None
                    or r.responded_at - r.created_at >= 3.0),
            "interaction_ack_max_s": round(max(acks, default=0), 3),
            "reply_p50_s": round(statistics.median(load.reply_seconds), 3),
            "reply_max_s": round(max(load.reply_seconds), 3)}


async def _start_bot(fd: FakeDiscord, llm: FakeLLMServer, guild_id: int, db: Path, slots: int,
                     log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    env.update({"DISCORD_TOKEN": "soak-token", "CHRONICLE_DATABASE": str(db), "CHRONICLE_LLM_BASE_URL": llm.base_url,
                "CHRONICLE_LLM_MODEL": "fake-model", "CHRONICLE_DISCORD_API_BASE": fd.api_base,
                "CHRONICLE_SYNC_GUILD_IDS": str(guild_id), "CHRONICLE_MAX_CONCURRENT_REPLIES": str(slots),
                "CHRONICLE_LOG_FORMAT": "json", "CHRONICLE_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT)})
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=db.parent, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=log.open("wb"))


async def run(channels: int, messages: int, slots: int, workdir: Path) -> dict:
    """The whole run; returns the figures."""
    async with FakeDiscord() as fd, FakeLLMServer() as llm:
        world = fd.add_default_world()
        llm.default_delay = (0.05, 0.5)
        rooms = [fd.add_channel(world.guild, f"story-{i}") for i in range(channels)]
        bot = await _start_bot(fd, llm, world.guild.id, workdir / "load.db", slots, workdir / "bot.log")
        load = Load(fd, bot.pid, messages)
        started = time.perf_counter()
        try:
            await fd.wait_for(lambda: fd.registered_commands(world.guild), timeout=60)
            await fd.wait_until_ready(timeout=30)
            await load.command(rooms[0], world.admin, "character create",
                               {"name": "Aria", "description": "A bard who answers everyone."})
            await asyncio.gather(*(load.command(room, world.admin, "chat start", {"character": "Aria"})
                                   for room in rooms))
            stop = asyncio.Event()
            sampler = asyncio.create_task(load.sample_memory(stop))
            await asyncio.gather(*(load.conversation(room, world.member) for room in rooms))
            stop.set()
            await sampler
            await _recorded(workdir / "load.db", channels * messages)  # the last replies are committed
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), timeout=60)
    figures = verify(workdir / "load.db", load)
    figures["replies_shown"] = sum(load.replies_in(room) for room in rooms)  # what is shown is what is recorded
    quarter = max(1, len(load.rss) // 4)
    figures.update({"channels": channels, "messages_per_channel": messages, "seconds": round(
        time.perf_counter() - started, 1), "bot_exit_code": bot.returncode,
        "bot_rss_mb_first_quarter": round(max(load.rss[:quarter]), 1),
        "bot_rss_mb_last_quarter": round(max(load.rss[-quarter:]), 1), "rss_samples": len(load.rss),
        "bot_log_errors": _errors(workdir / "bot.log")})
    return figures


async def _recorded(db: Path, replies: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(db)
        try:
            if conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'bot_replied'").fetchone()[0] >= replies:
                return
        finally:
            conn.close()
        await asyncio.sleep(0.2)


def _errors(log: Path) -> int:
    """Lines at error level or above in the bot's JSON log."""
    count = 0
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            count += json.loads(line).get("level") in ("error", "critical")
        except ValueError:
            count += 1  # not JSON: not what CHRONICLE_LOG_FORMAT=json promises
    return count


def passed(figures: dict) -> bool:
    """The run's verdict."""
    return (figures["lines_recorded"] == figures["lines_sent"] and figures["recorded_twice"] == 0
            and figures["channels_out_of_order"] == 0 and figures["replies_recorded"] == figures["lines_sent"]
            and figures["replies_shown"] == figures["replies_recorded"]
            and figures["interactions_late_or_unanswered"] == 0 and figures["bot_exit_code"] == 0
            and figures["bot_log_errors"] == 0
            and figures["bot_rss_mb_last_quarter"] - figures["bot_rss_mb_first_quarter"] < 25)


def main(argv: list[str] | None = None) -> int:
    """Run it and print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m soak.discord_load")
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--slots", type=int, default=16)
    args = parser.parse_args(argv)
    from config.logging import configure_logging

    configure_logging("console", "critical")
    with tempfile.TemporaryDirectory(prefix="chronicle-load-") as scratch:
        figures = asyncio.run(run(args.channels, args.messages, args.slots, Path(scratch)))
    figures["passed"] = passed(figures)
    print(json.dumps(figures))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
