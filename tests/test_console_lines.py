"""What a scripted `chronicle console` prints, as a subprocess: error lines that never show the password of the
model server's URL."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = '/character create name:Aria description:"A wandering bard."\n/chat start character:Aria\n'


async def console(database: Path, script: str, env: dict[str, str], *, merged: bool) -> tuple[int, str, str]:
    """Run `chronicle console` on `script`; with `merged`, stderr goes where stdout goes (one pipe)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "DISCORD_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--database", str(database), cwd=ROOT, env={**clean, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merged else asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=120)
    return process.returncode or 0, out.decode(), (err or b"").decode()


async def test_the_error_line_and_the_log_never_show_the_password_of_an_unreachable_model(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"CHRONICLE_LLM_BASE_URL": f"http://alice:S3CRET@127.0.0.1:{port}/v1", "CHRONICLE_LLM_MODEL": "m",
           "CHRONICLE_LLM_MAX_RETRIES": "1"}
    code, out, err = await console(tmp_path / "c.db", START + "Hello?\n", env, merged=False)
    assert code == 0, err
    error = next(line for line in out.splitlines() if line.startswith("error: "))
    assert error.endswith(f"(could not connect to the model server at http://alice:***@127.0.0.1:{port}/v1)")
    assert "llm_unavailable" in err and f"base_url=http://alice:***@127.0.0.1:{port}/v1" in err
    assert "S3CRET" not in out + err
