"""A busy channel with a hostile lorebook beside channels that run normally: the others' reply and read latency
with and without it, side by side in one run, on SQLite and on PostgreSQL.

    python -m soak.lore_load [--channels 8] [--seconds 12] [--model-ms 20] [--sqlite-only]

`--channels` normal channels, each a story with a small ordinary book, say one line after another (each
answered before the next; the model answers in `--model-ms`) while a probe reads from the database every
20 ms. Three phases, taken in ROUNDS interleaved turns of `--seconds` in all each (so other work on the machine
weighs on them alike): the normal channels alone; with one more channel as busy, saying long lines (4,000
characters: a's, a/b soup, emoji) with a big book of plain keys (`with_benign`: the cost of one more busy
channel and of its book); and with, instead, a channel just as busy whose book has the same shape but hostile
keys: every pattern RE2 refuses (each first tried with /lore add, where it must be refused, then written
straight into the log as a version that checked nothing would have) and the largest accepted ones (each family
grown to just under the program limit, plus the patterns that hang backtracking engines), on sticky entries
scanning 10 lines. Prints one JSON object; exit 1 when a refusal, a reply or `check` failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.logging import configure_logging
from engine import Actor, Engine, InvalidInput, queries
from engine.commands import AddLoreEntry, AnswerLine, AttachLorebook, AuthorCharacter, StartChat
from engine.events import LoreEntryWritten
from engine.llm.openai_compat import OpenAICompatibleModel
from engine.lore import LoreEntry
from engine.lore.activate import scan_window
from engine.lore.keys import MAX_PROGRAM, KeyProblem, compile_key, prepared
from engine.narrator.generation import NullSink
from soak.reproject_load import SERVER_SETTINGS, summary
from tests.fakes.llm_server import FakeLLMServer

GUILD = "soak-lore"
ADMIN = Actor(user_id="soak-admin", guild_id=GUILD, display_name="Ada", is_admin=True)
PERSON = Actor(user_id="soak-person", guild_id=GUILD, display_name="Wren")
REFUSED = {  # every kind of pattern RE2 can't run safely
    "backreference": r"/(\w+)\s\1/", "named backreference": r"/(?<w>\w+) \k<w>/", "lookahead": "/dragon(?=s)/i",
    "negative lookahead": "/(?!sea)dragon/", "lookbehind": "/(?<=old )king/", "negative lookbehind": "/(?<!x)(a+)+$/",
    "atomic group": "/(?>a+)+b/", "possessive repeat": "/(a++)+b/", "repeat over 1,000": "/a{1001}/",
    "nested repeats over 1,000": "/((a{100}){100})+/", "program too large": r"/(\w+\s?){200}z/",
    "Unicode class repeated": r"/\p{L}{1000}/", "slow to compile": "/(?i)" + r"\pL" * 250 + "/",
    "not a regex": "/(unclosed/", "unsupported escape": r"/\cA/", "Python-only syntax": r"/(?P=name)/",
}
FAMILIES = ["/(?:(?:a|b)?(?:b|a)?){N}c/", "/(a|b)*a(a|b){N}c/", "/(?:[😀a]?){N}z/i", "/(.?){N}z/", r"/(\w+\s?){N}z/",
            "/(?:[^z]?){N}z/", r"/[\s\S]{N}z/", "/(?:a*){N}b/", r"/(?:\b.?\B.?){N}z/"]
BACKTRACKERS = ["/(a+)+$/", "/(x+x+)+y/", "/(a|aa)*c/", r"/^(\w+\s?)*$/", r"/(\w+)*@/", "/(.*a){12}/"]
ROUNDS = 4  # turns of each phase, interleaved
ORDINARY = [("dragon, wyrm", None), ("/\\b(?:king|queen)s?\\b/i", None), ("harbour", 2), ("tavern, inn", None),
            ("/\\d{1,3} gold/", None), ("moon", 3)]


def largest(family: str) -> str:
    """The family's key grown to the largest count whose program stays within MAX_PROGRAM."""
    low, high, best = 1, 1000, family.replace("N", "1")
    while low <= high:
        middle = (low + high) // 2
        key = family.replace("N", str(middle))
        try:
            ready = compile_key(key, use_regex=False, case_sensitive=True, whole_words=False)
            fits = ready is not None and ready.regex.programsize <= MAX_PROGRAM
        except KeyProblem:
            fits = False
        best, low, high = (key, middle + 1, high) if fits else (best, low, middle - 1)
    return best


def hostile_lines() -> list[str]:
    """Long lines that drive the hostile keys' worst cases."""
    rng = random.Random(7)
    soup = "".join(rng.choice("ab") for _ in range(4_000))
    lines = ["a" * 3_999 + "!", soup, "😀a" * 2_000, "x" * 4_000, "ab " * 1_333, soup.replace("b", "a b")]
    return [line[:4_000] for line in lines]


async def _story(engine: Engine, channel: str, book: str) -> None:
    await engine.perform(StartChat(actor=ADMIN, channel_id=channel, character="Soak Host"))
    await engine.perform(AttachLorebook(actor=ADMIN, channel_id=channel, book=book))


async def _old_entries(engine: Engine, book_id: str, first: int, entries: list[LoreEntry]) -> None:
    """Entries written straight into the log, as a version that checked no keys did (then projected)."""
    stream = f"guild:{GUILD}"

    def write(conn: Any) -> None:
        version = conn.execute("SELECT MAX(stream_version) FROM events WHERE stream = ?", (stream,)).fetchone()[0]
        for offset, entry in enumerate(entries):
            payload = LoreEntryWritten(book_id=book_id, guild_id=GUILD, number=first + offset, entry=entry)
            conn.execute("INSERT INTO events (stream, stream_version, kind, version, chat_id, guild_id, actor_id,"
                         " payload, recorded_at) VALUES (?, ?, 'lore_entry_written', 1, NULL, ?, ?, ?, ?)",
                         (stream, version + 1 + offset, GUILD, ADMIN.user_id, payload.model_dump_json(),
                          "2025-01-01T00:00:00+00:00"))

    await engine.db.write(write)
    await engine.maintenance.catch_up()


def worst_search(keys: list[str]) -> dict[str, Any]:
    """The longest single search of any of `keys` in the hostile channel's scanned text (the most a deadline can
    be overrun by: a search can't be stopped halfway)."""
    lines = hostile_lines()
    windows = [scan_window([lines[(start + n) % len(lines)] for n in range(10)], 10) for start in range(len(lines))]
    worst = (0.0, "", 0)
    for key in keys:
        ready = prepared(key, False, True, False)
        for text in windows:
            started = time.thread_time()
            ready.search(text)
            worst = max(worst, (time.thread_time() - started, key, len(text)))
    return {"worst_search_cpu_ms": round(worst[0] * 1000, 1), "worst_search_key": worst[1],
            "worst_search_text_bytes": worst[2]}


async def _big_entries(engine: Engine, book: str, keys: list[str]) -> None:
    """30 entries of many keys (each list rotated), sticky and cooling down by turns, scanning 10 lines."""
    for number in range(30):
        turned = tuple(keys[number % len(keys):] + keys[:number % len(keys)])
        await engine.perform(AddLoreEntry(actor=ADMIN, book=book, keys=turned, secondary_keys=turned[:3],
                                          content=f"{book} {number}", scan_depth=10, sticky=3 if number % 2 else 0,
                                          cooldown=2 if number % 3 else 0,
                                          logic="AND_ALL" if number % 2 else "NOT_ANY"))


def _small_entries(keys: list[str], secondary: tuple[str, ...], *, regex: bool = False) -> list[LoreEntry]:
    """An entry for each key, four times over, with the same secondary keys, sticky, scanning 10 lines."""
    entries = [LoreEntry(keys=(key,), secondary_keys=secondary, selective=True, content=f"small {n}", scan_depth=10,
                         sticky=2) for n, key in enumerate(keys)] * 4
    return entries + [LoreEntry(keys=("(a)\\1", "x(?=y)") if regex else ("a1", "xy"), use_regex=regex,
                                content="use_regex", scan_depth=10)]


async def hostile_book(engine: Engine) -> dict[str, Any]:
    """The hostile book: refused keys tried first (each must be refused), then logged as old entries; the
    largest accepted keys and the backtracking classics written normally."""
    refused = 0
    for key in REFUSED.values():
        try:
            await engine.perform(AddLoreEntry(actor=ADMIN, book="Hostile", keys=(key,), content="refused"))
        except InvalidInput:
            refused += 1
    accepted = [largest(family) for family in FAMILIES] + BACKTRACKERS
    await _big_entries(engine, "Hostile", accepted)
    book = (await engine.reads.lorebook(GUILD, "Hostile"))[0]
    old = _small_entries(list(REFUSED.values()), tuple(REFUSED.values())[:3], regex=True)
    await _old_entries(engine, book.book_id, 31, old)
    sizes = [prepared(k, False, True, False).regex.programsize for k in accepted]
    return {"refused_at_write": f"{refused} of {len(REFUSED)}", "accepted_keys": accepted,
            "largest_program": max(sizes), "hostile_entries": 30 + len(old)}


async def benign_book(engine: Engine) -> None:
    """A book of the same shape as the hostile one, with plain keys (so the comparison is of keys alone)."""
    await _big_entries(engine, "Almanac", [f"word{n}" for n in range(len(FAMILIES) + len(BACKTRACKERS))])
    book = (await engine.reads.lorebook(GUILD, "Almanac"))[0]
    await _old_entries(engine, book.book_id, 31, _small_entries([f"name{n}" for n in range(len(REFUSED))],
                                                                ("one", "two", "three")))


async def _talk(engine: Engine, channel: str, lines: Callable[[int], str], stop: float, out: list[float]) -> int:
    """Lines one after another, each answered before the next, until `stop`; latencies into `out`."""
    n = 0
    while time.monotonic() < stop:
        n += 1
        started = time.perf_counter()
        await engine.perform(AnswerLine(actor=PERSON, channel_id=channel, message_id=f"{channel}-{n}-{time.time_ns()}",
                                        text=lines(n)), sink=NullSink())
        out.append(time.perf_counter() - started)
    return n


async def _probe_reads(engine: Engine, channel: str, stop: float, out: list[float]) -> None:
    while time.monotonic() < stop:
        started = time.perf_counter()
        await engine.db.read(lambda c: queries.find_open_chat(c, channel))
        out.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def phase(engine: Engine, normal: list[str], extra: str | None, seconds: float) -> dict[str, list[float]]:
    """Every normal channel (and the extra one, when given, with long hostile lines) talking for `seconds`: the
    normal channels' reply latencies, a probe's read latencies, and the extra channel's replies."""
    stop = time.monotonic() + seconds
    replies: list[float] = []
    reads: list[float] = []
    extra_replies: list[float] = []
    lines = hostile_lines()
    jobs = [_talk(engine, c, lambda n, c=c: f"Line {n} in {c}: the dragon and the king at the tavern.", stop,
                  replies) for c in normal]
    if extra is not None:
        jobs.append(_talk(engine, extra, lambda n: lines[n % len(lines)], stop, extra_replies))
    await asyncio.gather(_probe_reads(engine, normal[0], stop, reads), *jobs)
    out = {"replies": replies, "reads": reads}
    if extra is not None:
        out[f"{extra}_channel_replies"] = extra_replies
    return out


async def _interleaved(engine: Engine, normal: list[str], seconds: float) -> dict[str, Any]:
    """The three phases in ROUNDS short turns each, interleaved (other work on the machine shifts them alike)."""
    latencies: dict[str, dict[str, list[float]]] = {}
    for _ in range(ROUNDS):
        for name, extra in (("normal_only", None), ("with_benign", "benign"), ("with_hostile", "hostile")):
            measured = await phase(engine, normal, extra, seconds / ROUNDS)
            for part, values in measured.items():
                latencies.setdefault(name, {}).setdefault(part, []).extend(values)
    return {name: {part: summary(values) for part, values in parts.items()} for name, parts in latencies.items()}


async def measure(location: str, channels: int, seconds: float, model_ms: int) -> dict[str, Any]:
    """Both phases on one database; the hostile prompt's drops; `check`."""
    async with FakeLLMServer() as llm:
        llm.default_delay = (model_ms / 1000, model_ms / 1000)
        model = OpenAICompatibleModel(llm.base_url, "k", "fake-model", max_retries=0, timeout=30.0)
        engine = await Engine.open(location, model=model, max_concurrent_replies=channels + 2)
        try:
            await engine.perform(AuthorCharacter(actor=ADMIN, name="Soak Host", description="A patient listener."))
            for keys, sticky in ORDINARY:
                await engine.perform(AddLoreEntry(actor=ADMIN, book="Atlas", keys=tuple(keys.split(", ")),
                                                  content=f"About {keys}.", sticky=sticky))
            built = await hostile_book(engine)
            normal = [f"normal-{i}" for i in range(channels)]
            for channel in normal:
                await _story(engine, channel, "Atlas")
            await _story(engine, "hostile", "Hostile")
            await engine.perform(AttachLorebook(actor=ADMIN, channel_id="hostile", book="Atlas"))
            await benign_book(engine)
            await _story(engine, "benign", "Almanac")
            await engine.perform(AttachLorebook(actor=ADMIN, channel_id="benign", book="Atlas"))
            phases = await _interleaved(engine, normal, seconds)
            prompt = await engine.inspect_prompt("hostile")
            built.update(worst_search(built["accepted_keys"]))
            drops = Counter(reason for _, _, reason in prompt.lore.dropped)
            clean = (await engine.maintenance.check()).clean
        finally:
            await engine.close()
            await model.aclose()
    return {"dialect": engine.db.dialect, **built, **phases,
            "hostile_prompt": {"in": len(prompt.lore.active), "dropped": dict(drops)}, "check_clean": clean}


def _postgres(channels: int, seconds: float, model_ms: int) -> dict[str, Any]:
    from tests.pg import start_server, stop_server

    server = start_server(settings=SERVER_SETTINGS)
    try:
        with server.admin() as admin:
            admin.execute('CREATE DATABASE "soak_lore"')
        return asyncio.run(measure(server.url("soak_lore"), channels, seconds, model_ms))
    finally:
        stop_server(server)


def passed(result: dict[str, Any]) -> bool:
    """Every refusal refused, the old refused keys reported, the hostile channel answered, the world clean."""
    return (result["refused_at_write"] == f"{len(REFUSED)} of {len(REFUSED)}" and result["check_clean"]
            and "unsupported key" in result["hostile_prompt"]["dropped"]
            and result["with_hostile"]["hostile_channel_replies"]["commands"] > 0)


def main(argv: list[str] | None = None) -> int:
    """Run it on SQLite (and PostgreSQL) and print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m soak.lore_load")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--model-ms", type=int, default=20)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("console", "critical")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chronicle-lore-") as scratch:
        results = [asyncio.run(measure(str(Path(scratch) / "lore.db"), args.channels, args.seconds, args.model_ms))]
    if not args.sqlite_only:
        results.append(_postgres(args.channels, args.seconds, args.model_ms))
    ok = all(passed(r) for r in results)
    print(json.dumps({"channels": args.channels, "seconds_per_phase": args.seconds, "model_ms": args.model_ms,
                      "runs": results, "seconds": round(time.perf_counter() - started, 1), "passed": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
