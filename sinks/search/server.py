"""Serving the search app with uvicorn: in the foreground (`memlane serve`) or in a thread (tests, tools).

    with ServerThread(search_app(settings)) as server:   # port 0: a free port is picked
        httpx.get(f"{server.url}/healthz")

`ServerThread.stop()` asks uvicorn to exit, waits for the thread and so runs the app's shutdown
(closing the stores it opened).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from schemas.errors import ConfigError


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8080, *, log_level: str = "info") -> None:
    """Serve `app` until interrupted (Ctrl-C / SIGTERM stop it gracefully)."""
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False)


class ServerThread:
    """A uvicorn server for `app` on `host:port` running in a background thread."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="memlane-search-server")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        """Start serving; returns once the socket listens (raises `ConfigError` if it never does)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the search server did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        sockets = [sock for server in self.server.servers for sock in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["ServerThread", "serve"]
