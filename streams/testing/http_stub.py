"""Server plumbing shared by the fake Ollama and Anthropic servers.

Owns the parts that do not depend on the protocol: a `ThreadingHTTPServer` on 127.0.0.1 in a background
thread, start / stop / pause / resume on one port, tracking of open connections so that stopping or
pausing aborts them and never leaks a thread, and writing the outcomes of `streams.testing.replies`.

A protocol module subclasses `StubServer` and implements `dispatch(request) -> Outcome` and
`error_reply(status, message)`. Outcomes marked `gated` are sent inside the parallelism gate of its
`StubScript`, after the scripted latency, like a model server with a fixed number of slots
(`OLLAMA_NUM_PARALLEL`); with a bounded queue (`gate.max_waiting`, `OLLAMA_MAX_QUEUE`) a call that finds it
full gets `queue_full_reply()` at once.
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import urlsplit

import structlog

from streams.testing.replies import Hang, Outcome, Reply, Reset, StubRequest
from streams.testing.script import StubObservations, StubScript, StubStats

log = structlog.get_logger(__name__)

KindT = TypeVar("KindT", bound=str)
_JOIN_SECONDS = 10.0


class _HTTPServer(ThreadingHTTPServer):
    """One listening generation: tracks its connections so closing it aborts them all."""

    allow_reuse_address = True

    def __init__(self, owner: StubServer[Any], port: int) -> None:
        self.owner = owner
        self.closing = threading.Event()
        self._conn_lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self._conn_lock:
            self._conns.add(conn)
        return conn, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.owner.name}-conn",
            daemon=True,
        )
        with self._conn_lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def server_close(self) -> None:
        super().server_close()
        with self._conn_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(_JOIN_SECONDS)
            if worker.is_alive():
                log.warning("stub.thread_not_joined", server=self.owner.name, wait_s=_JOIN_SECONDS)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("stub.connection_error", server=self.owner.name, client=str(client_address), exc_info=True)

    def abort_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every response, which no real Ollama or Anthropic server has.
    disable_nagle_algorithm = True
    server_version = "memlane-fake"
    sys_version = ""
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("stub.request", server=self.server.owner.name, line=format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        path = urlsplit(self.path).path
        request = StubRequest(self.command, path, headers, body, self.server.closing)
        try:
            outcome = owner.dispatch(request)
        except Exception as exc:
            log.exception("stub.dispatch_failed", server=owner.name, method=self.command, path=path)
            outcome = owner.error_reply(500, f"fake server bug: {exc!r}")
        if not outcome.gated:
            self._emit(outcome, request)
            return
        gate = owner.script.gate
        if not gate.acquire():
            self._emit(owner.queue_full_reply(), request)
            return
        try:
            if request.sleep(owner.script.latency):
                self._emit(outcome, request)
            else:
                self.close_connection = True
        finally:
            gate.release()

    def _emit(self, outcome: Outcome, request: StubRequest) -> None:
        owner = self.server.owner
        if isinstance(outcome, Reset):
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if isinstance(outcome, Hang):
            self.close_connection = True
            self._hang(outcome.seconds, request.closing)
            return
        owner.stats.record_status(outcome.status)
        self.send_response(outcome.status)
        for key, value in outcome.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", outcome.content_type)
        if isinstance(outcome, Reply):
            body = outcome.body() if callable(outcome.body) else outcome.body
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in outcome.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _hang(self, seconds: float, closing: threading.Event) -> None:
        deadline = time.monotonic() + seconds
        while not closing.wait(0.02) and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except OSError:
                return


class StubServer(StubObservations, Generic[KindT]):
    """A local HTTP server on 127.0.0.1 with a fixed port once bound; a context manager.

    Subclasses implement `dispatch` and `error_reply`. `pause()` closes the listening socket and aborts
    open connections (clients get 'connection refused'); `resume()` listens again on the same port.
    """

    name = "stub"

    script: StubScript[KindT]

    def __init__(self, script: StubScript[KindT], *, port: int = 0) -> None:
        self.script = script
        self.stats = StubStats()
        self._port = port
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._paused = False

    def dispatch(self, request: StubRequest) -> Outcome:
        """Answer one request (override)."""
        raise NotImplementedError

    def error_reply(self, status: int, message: str) -> Reply:
        """An error response in the protocol's own shape (override)."""
        raise NotImplementedError

    def queue_full_reply(self) -> Reply:
        """What a model call gets when `script.gate.max_waiting` calls already wait for a slot."""
        return self.error_reply(503, "server busy")

    @property
    def port(self) -> int:
        """The bound port (0 before the first `start()`)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:54321``."""
        if not self._port:
            raise RuntimeError(f"{self.name} server was never started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> Self:
        """Bind (first time: an OS-chosen port) and serve in a background thread."""
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer(self, self._port)
            self._port = httpd.server_address[1]
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}-serve",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread, self._paused = httpd, thread, False
        return self

    def stop(self) -> None:
        """Stop serving: close the listener, abort connections and join every server thread."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd, self._thread = None, None
        if httpd is None or thread is None:
            return
        httpd.closing.set()
        httpd.shutdown()
        httpd.abort_connections()
        httpd.server_close()
        thread.join()

    def pause(self) -> None:
        """Go down: new connections are refused until `resume()`; in-flight requests are aborted."""
        self.stop()
        self._paused = True

    def resume(self) -> None:
        """Listen again on the same port after `pause()` (a no-op while serving)."""
        self.start()

    def fail_next(self, n: int, kind: KindT) -> None:
        """Shortcut for `script.fail_next`."""
        self.script.fail_next(n, kind)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["StubServer"]
