"""The embedded default as processes on loopback: a development OpenID issuer, a worker, a gateway.

Used by ``attestgw demo``. The worker and the gateway run as their own processes (``attestgw worker
serve`` / ``attestgw gateway serve``, exactly the commands an operator runs), so the demo exercises the
real startup paths and the process boundaries of a deployment; the development issuer runs in this
process (a thread under uvicorn), since the demo needs no Node. Everything listens on 127.0.0.1 with
ephemeral ports; logs go to files in the state directory.

Not done here: anything about attestation or the channel (the demo drives the client SDK for that).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from attestgw.cli.serving import bind, socket_url
from attestgw.errors import ServiceUnavailableError

__all__ = ["AUDIENCE", "DEMO_CLIENTS", "Stack", "ThreadServer", "gateway_settings"]

#: The audience the demo gateway accepts tokens for.
AUDIENCE = "attestgw-demo-gateway"
#: (client id, subject, groups): a user the shipped access policies permit, and one they do not.
DEMO_CLIENTS = (
    ("demo-user", "alice@example.test", ("attestgw-users",)),
    ("demo-outsider", "mallory@example.test", ()),
)


class ThreadServer:
    """An ASGI app under uvicorn on a pre-bound loopback socket, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn  # noqa: PLC0415 - the gateway/worker extras bring it

        self.sock = bind("127.0.0.1", 0)
        self.url = socket_url(self.sock)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceUnavailableError("demo.start_failed", "a loopback server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class Process:
    """A child ``attestgw`` command and the JSON summary line it printed when it was ready."""

    name: str
    popen: subprocess.Popen[str]
    summary: dict[str, Any]
    log_path: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start_process(name: str, args: list[str], log_path: Path, timeout: float) -> Process:
    """Run ``attestgw ARGS --json``; return once it printed its summary (or fail with its log tail)."""
    log: IO[str] = log_path.open("w", encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
        [sys.executable, "-m", "attestgw", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    log.close()
    assert popen.stdout is not None
    line = _read_line(popen, timeout)
    summary = json.loads(line) if line.startswith("{") else {}
    if summary.get("status") != "serving":
        popen.kill()
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise ServiceUnavailableError(
            "demo.start_failed", f"the {name} did not start; its log ends with:\n{tail}"
        )
    return Process(name, popen, summary, log_path)


def _read_line(popen: subprocess.Popen[str], timeout: float) -> str:
    out: list[str] = []

    def read() -> None:
        assert popen.stdout is not None
        out.append(popen.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].strip() if out else ""


def gateway_settings(
    state: Path,
    *,
    worker_url: str,
    model: str,
    policy: Path,
    issuer: str,
    audience: str = AUDIENCE,
    rate: float = 20.0,
    burst: int = 40,
    origin: str = "attestgw.demo/log",
) -> str:
    """A loopback gateway's settings: one worker, one development issuer, quotas per principal and
    tenant, a SQLite evidence log in ``state`` (the demo writes it to its state directory)."""
    return f"""# attestgw gateway on loopback: development issuer, SQLite evidence log.
listen = "127.0.0.1:0"

[pool]
policy = "{policy}"
health_interval_s = 2.0

[[workers]]
url = "{worker_url}"
models = ["{model}"]

[[identity.issuers]]
issuer = "{issuer}"
audience = "{audience}"
groups_claim = "groups"
tenant_claim = "tenant"

[quotas.principal]
rate = {rate}
burst = {burst}

[quotas.tenant]
rate = {min(rate * 10, 1_000_000.0)}
burst = {min(burst * 10, 1_000_000)}

[log]
db = "{state / "log.db"}"
key = "{state / "log.key"}"
origin = "{origin}"
create_key = true
"""


@dataclass
class Stack:
    """The running demo stack; :meth:`stop` ends the child processes and the issuer thread."""

    state: Path
    issuer_url: str
    issuer: Any
    issuer_server: ThreadServer
    worker: Process
    gateway: Process
    model: str
    policy: Path
    client_secrets: dict[str, str] = field(repr=False)

    @property
    def gateway_url(self) -> str:
        return str(self.gateway.summary["url"])

    def token(self, client_id: str) -> str:
        """An access token by the OAuth client-credentials grant, as any machine client gets one."""
        answer = httpx.post(
            f"{self.issuer_url}/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, self.client_secrets[client_id]),
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def wait_ready(self, timeout: float, tick: Callable[[], None] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.gateway_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.gateway.popen.poll() is not None:
                break
            if tick is not None:
                tick()
            time.sleep(0.2)
        raise ServiceUnavailableError(
            "gateway.no_worker", f"the gateway admitted no worker; see {self.gateway.log_path}"
        )

    def stop(self) -> None:
        self.gateway.stop()
        self.worker.stop()
        self.issuer_server.stop()


def start_issuer(state: Path) -> tuple[Any, ThreadServer, dict[str, str]]:
    """The development issuer with the demo's clients (fresh secrets, kept in memory only)."""
    from attestgw.devissuer import DevClient, DevIssuer  # noqa: PLC0415 - Starlette: gateway/worker extra

    secrets_by_client = {client_id: secrets.token_urlsafe(24) for client_id, _, _ in DEMO_CLIENTS}
    clients = [
        DevClient(client_id, secrets_by_client[client_id], subject, tenant="demo", groups=groups)
        for client_id, subject, groups in DEMO_CLIENTS
    ]
    issuer = DevIssuer("http://127.0.0.1", AUDIENCE, clients)
    server = ThreadServer(issuer.app())
    issuer.serve_at(server.url)
    server.start()
    return issuer, server, secrets_by_client
