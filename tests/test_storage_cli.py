"""Every storage fault is one line on the CLI (and the console), with what to do, and a non-zero exit.

Real faults (tests/faults.py): immutable folders, read-only bind mounts and a 3 MB tmpfs in a private
mount namespace, random bytes, truncated copies. Each run is a real `chronicle` process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults import random_file, read_only_folder, read_only_mount, truncate_copy

ROOT = Path(__file__).resolve().parent.parent
ENV = {"CHRONICLE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}  # never start the bundled model


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def run(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    """Run a command line in the worktree with a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    env.update(ENV)
    return subprocess.run(argv, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)


def assert_one_line(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 1, stderr exactly one `chronicle: …` line containing `words`, no traceback anywhere."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chronicle: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database written by `chronicle demo-data` (closed, its WAL folded in)."""
    path = tmp_path_factory.mktemp("saved") / "world.db"
    done = run(_argv("demo-data", "--chats", "2", "--messages", "30", "--database", str(path)))
    assert done.returncode == 0, done.stderr
    return path


COMMANDS = [("events",), ("chats",), ("check",), ("migrate",), ("console",)]
READERS = {"events", "chats", "check"}  # only read: never create anything, work on a read-only file or folder


def _everywhere(path: Path) -> list[list[str]]:
    return [_argv(*command, "--database", str(path)) for command in COMMANDS]


def test_a_read_only_folder_new_and_existing_file(saved: Path, tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = folder / "world.db"
    existing.write_bytes(saved.read_bytes())
    with read_only_folder(folder):
        with ThreadPoolExecutor(4) as pool:
            new_runs = list(pool.map(run, _everywhere(folder / "new.db")))
            old_runs = list(pool.map(run, _everywhere(existing)))
    for (command,), new, old in zip(COMMANDS, new_runs, old_runs, strict=True):
        if command in READERS:
            assert_one_line(new, f"no database at {folder / 'new.db'}; check --database")
            assert old.returncode == 0 and "Traceback" not in old.stderr, (command, old.stdout, old.stderr)
        else:
            assert_one_line(new, "can't create the database", str(folder / "new.db"), "CHRONICLE_DATABASE")
            assert_one_line(old, "can't write the database", str(existing), "-wal and -shm")


def test_a_folder_that_cannot_be_created(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "sub" / "world.db"
    with ThreadPoolExecutor(4) as pool:
        for (command,), done in zip(COMMANDS, pool.map(run, _everywhere(target)), strict=True):
            if command in READERS:
                assert_one_line(done, f"no database at {target}; check --database")
            else:
                assert_one_line(done, "can't create the folder", str(target.parent))


def test_a_read_only_mount_new_and_existing_file(saved: Path, tmp_path: Path):
    folder = tmp_path / "mounted"
    folder.mkdir()
    (folder / "world.db").write_bytes(saved.read_bytes())
    for command, name, words in (("events", "new.db", ("no database at", "check --database")),
                                 ("migrate", "new.db", ("can't create the database", "mounted read-only")),
                                 ("migrate", "world.db", ("can't write the database", "mounted read-only"))):
        done = run(read_only_mount(folder, _argv(command, "--database", str(folder / name))))
        assert_one_line(done, *words)
    done = run(read_only_mount(folder, _argv("events", "--database", str(folder / "world.db"))))
    assert done.returncode == 0 and "user_said" in done.stdout, done.stderr


def test_random_bytes_everywhere_and_check_says_what_it_found(tmp_path: Path):
    path = random_file(tmp_path / "noise.db")
    before = path.read_bytes()
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(run, _everywhere(path)))
    for (command,), done in zip(COMMANDS, runs, strict=True):
        if command == "check":
            assert done.returncode == 1 and "is not a Chronicle database" in done.stdout
            assert done.stdout.splitlines()[-1].startswith("check: the database file is damaged")
        else:
            assert_one_line(done, "is not a Chronicle database", str(path))
    assert path.read_bytes() == before


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_a_truncated_database(saved: Path, tmp_path: Path, share: float):
    path = truncate_copy(saved, tmp_path / "cut.db", share)
    before = path.read_bytes()
    assert_one_line(run(_argv("events", "--database", str(path))), "is damaged (cut short", "chronicle check")
    check = run(_argv("check", "--database", str(path)))
    assert check.returncode == 1 and "cut short" in check.stdout and "Traceback" not in check.stderr
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()


def test_a_full_disk_ends_demo_data_with_one_line(tmp_path: Path):
    folder = tmp_path / "small"
    folder.mkdir()
    script = 'mount -t tmpfs -o size=3m tmpfs "$0" && exec "$@"'
    done = run(["unshare", "-m", "sh", "-c", script, str(folder),
                *_argv("demo-data", "--chats", "8", "--messages", "1500", "--database", str(folder / "w.db"))])
    assert_one_line(done, "is full", "Free some space")


def test_export_to_a_place_that_cannot_be_written(saved: Path):
    chats = run(_argv("chats", "--database", str(saved)))
    chat_id = chats.stdout.split()[0]
    assert_one_line(run(_argv("export", "--chat", chat_id, "--out", "/proc/x", "--database", str(saved))),
                    "can't write the export to /proc/x")


def test_the_console_answers_export_to_proc_with_one_line_and_goes_on(saved: Path):
    lines = ('/character create name:Aria description:"A bard."\n/chat start character:Aria\n'
             "/chat export out:/proc/x\n/chat status\n")
    done = run(_argv("console", "--channel", "export-test", "--database", str(saved)), stdin=lines)
    answers = [line for line in done.stdout.splitlines() if line and not line.startswith(">")]
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert any(a.startswith("error: can't write the export to /proc/x") for a in answers), answers
    assert "Aria" in answers[-1]
