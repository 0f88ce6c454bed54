"""A loopback HTTP server that answers GETs from a path → (status, body, headers) table.

Collateral services (AMD KDS, Intel PCS) are played by it in the fetcher tests: it records every
request path, so a test can say exactly what went over the wire; an unknown path is a 404.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

__all__ = ["FakeService", "running"]


@dataclass
class FakeService:
    """What the loopback server serves, and the requests it saw."""

    routes: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    base_url: str = ""

    def serve(self, path: str, body: bytes, status: int = 200, /, **headers: str) -> None:
        # positional-only: any header name, even "status", lands in ``headers``
        self.routes[path] = (status, body, headers)


S = TypeVar("S", bound=FakeService)


@contextmanager
def running(state: S) -> Iterator[S]:
    """``state`` served on 127.0.0.1 (an ephemeral port, set as ``state.base_url``) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            status, body, headers = state.routes.get(self.path, (404, b"Not Found", {}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
