"""A real loopback HTTP server in a thread, for the fetcher tests and the benchmark's cold path.

Routes are registered per test: ``server.route("/x.pem", body, headers)``; special behaviours
(redirect, slow, trickle, huge, chunked) are plain handlers. It counts the requests per path.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


def respond(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, *, length: bool = True
) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        if length:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle


def slow(seconds: float, then: Handler) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(request)

    return handle


def trickle(chunks: int, pause: float) -> Handler:
    """Headers at once, then one byte every ``pause`` seconds: beats any per-read time-out."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(chunks))
        request.end_headers()
        for _ in range(chunks):
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(pause)

    return handle


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (the fetcher at a time-out or size cap) are expected here."""

    daemon_threads = True
    block_on_close = False  # do not wait for a deliberately slow handler at teardown

    def handle_error(self, request: object, client_address: object) -> None:
        return


class LocalServer:
    """Serves registered routes on 127.0.0.1 at a free port until closed."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        routes, hits = self.routes, self.hits

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hits[self.path] += 1
                handler = routes.get(self.path, respond(404, b"not found"))
                with suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", 0), RequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()
