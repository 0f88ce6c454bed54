"""Real servers on loopback for the client's integration tests: the worker, and a relay in front of it.

``LoopbackServer`` runs an ASGI app under uvicorn on 127.0.0.1 with an ephemeral port in a background
thread. ``start_worker`` builds the real worker (``attestgw.worker.app.create_app``) with the simulated
SEV-SNP backend and the tiny model, wrapped in ``CountingApp`` so tests can assert what reached it.
Import it only after checking that the worker extra is installed (``conftest.py`` does).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.worker.app import create_app
from attestgw.worker.engine import TINY_MODEL_ID, Engine, build_tiny_model, create_openai_app, model_digest
from attestgw.worker.settings import ServedModel, WorkerServices, WorkerSettings
from tests.routes import route_of

ASGIApp = Any


_SEALED = ("/ohttp", "/ohttp-chunked")  # not /ohttp-keys: a health probe is not a sealed request


class CountingApp:
    """Counts the HTTP requests that reach the wrapped app, by route (:func:`tests.routes.route_of`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.counts[route_of(scope["path"])] += 1
        await self.app(scope, receive, send)

    def sealed(self) -> int:
        """Requests that reached the sealed routes (or, if enabled, the plaintext bench route)."""
        return sum(n for path, n in self.counts.items() if path in _SEALED or path.startswith("/plain"))


class LoopbackServer:
    """uvicorn on 127.0.0.1:0 in a daemon thread; ``url`` once started."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="auto", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class WorkerParts:
    """What a worker is made of; ``app()`` starts one more instance (fresh keys, same model and chip)."""

    settings: WorkerSettings
    services: WorkerServices
    policy_toml: str
    model_digest: str
    engine: Engine

    def app(self) -> CountingApp:
        return CountingApp(create_app(self.settings, self.services))


@dataclass
class RunningWorker:
    """A started worker: where it listens, what reached it, the policy that affirms it, its parts."""

    url: str
    app: CountingApp
    policy: SnpPolicy
    policy_path: Path
    model_id: str
    model_digest: str
    parts: WorkerParts


def build_worker(state: Path, *, bench_plaintext: bool = False) -> WorkerParts:
    """The real worker's parts: simulated SEV-SNP backend, tiny model engine, inner OpenAI app."""
    model_dir = build_tiny_model(state / "tiny")
    digest = model_digest(model_dir)
    engine = Engine.load(model_dir, model_id=TINY_MODEL_ID)
    backend = SimulatedSnpBackend.create(authority_dir=state / "authority", enable_simulation=True)
    settings = WorkerSettings(model=ServedModel(TINY_MODEL_ID, digest), bench_plaintext=bench_plaintext)
    services = WorkerServices(cpu_attester=backend, inner_app=create_openai_app(engine))
    return WorkerParts(settings, services, backend.policy_toml(), digest, engine)


def policy_file(state: Path, text: str) -> tuple[SnpPolicy, Path]:
    path = state / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return parse_policy(path.read_bytes(), source=str(path)), path
