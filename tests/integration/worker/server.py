"""Run an ASGI app under a real uvicorn server on 127.0.0.1 (an ephemeral port) in a thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp


class UvicornThread:
    """``with UvicornThread(app) as server: server.url`` — started and ready inside, stopped after."""

    def __init__(self, app: ASGIApp, *, startup_timeout_s: float = 60.0) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="uvicorn-test", daemon=True)
        self.exit_code: int | str | None = None
        self.startup_timeout_s = startup_timeout_s
        self.url = ""

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit as exc:  # uvicorn exits when the app's lifespan startup fails
            self.exit_code = exc.code

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"uvicorn exited during startup (exit code {self.exit_code})")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        if self.thread.is_alive():
            raise RuntimeError("uvicorn did not shut down")
