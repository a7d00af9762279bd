"""A real HTTP server on 127.0.0.1 that misbehaves on request, for the transport's tests.

``with FaultServer() as server:`` serves, by default, an echo of each request as JSON
(method, path, query, headers, body size, multipart file names). ``server.plan(path, *answers)``
makes the next requests to ``path`` get those ``Answer``s in turn (the last one repeats when
``repeat=True``): any status and headers, a body sent at once, trickled a few bytes at a
time, streamed in chunks without a length, or no answer at all (hang). Every request is logged
in ``server.requests`` with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Answer:
    """One answer of the server."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # None: the echo of the request, as JSON
    content_type: str = "application/json"
    trickle: float = 0.0  # seconds between single bytes of the body
    chunks: int = 0  # send the body this many times, chunked, without a Content-Length
    hang: float = 0.0  # read the request, then say nothing for this long
    declare_length: int | None = None  # a Content-Length other than the body's
    repeat: bool = False  # keep giving this answer once reached


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


class FaultServer:
    """Start with ``with FaultServer() as server:``; ``server.url(path)`` is an address on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, list[Answer]] = {}
        self.requests: list[LoggedRequest] = []
        self._stopping = threading.Event()
        self._httpd = _Listener(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def plan(self, path: str, *answers: Answer) -> None:
        """The next requests to ``path`` get ``answers`` in turn, then the echo again."""
        with self._lock:
            self._plans[path] = list(answers)

    def hits(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_answer(self, path: str) -> Answer | None:
        with self._lock:
            queue = self._plans.get(path)
            if not queue:
                return None
            if len(queue) == 1 and queue[0].repeat:
                return queue[0]
            return queue.pop(0)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's names)
                self._handle()

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                logged = LoggedRequest(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with server._lock:
                    server.requests.append(logged)
                answer = server._next_answer(parts.path) or Answer()
                if answer.hang:
                    server._stopping.wait(answer.hang)
                    self.close_connection = True
                    return
                payload = answer.body if answer.body is not None else _echo(logged)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                try:
                    if answer.chunks:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for _ in range(answer.chunks):
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    declared = answer.declare_length
                    self.send_header(
                        "Content-Length", str(len(payload) if declared is None else declared)
                    )
                    self.end_headers()
                    if answer.trickle:
                        for index in range(len(payload)):
                            if server._stopping.wait(answer.trickle):
                                break
                            self.wfile.write(payload[index : index + 1])
                            self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(payload)
                except OSError:  # the client gave up: expected in these tests
                    self.close_connection = True

        return Handler


def _echo(request: LoggedRequest) -> bytes:
    files = []
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        for piece in request.body.split(b"\r\n"):
            if piece.lower().startswith(b"content-disposition") and b"filename=" in piece:
                files.append(piece.split(b"filename=", 1)[1].strip(b'"').decode())
    return json.dumps(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body_size": len(request.body),
            "files": files,
        }
    ).encode()


class _Listener(ThreadingHTTPServer):
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when a client hangs up (it hit a deadline): expected here."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)
