"""The gateway over real uvicorn on loopback, in front of real workers (simulated SEV-SNP, tiny model).

Workers come from ``tests/integration/client/loopback.py`` (one set of parts, several instances:
same chip and policy, fresh keys each). The gateway runs under :class:`GatewayServer` (the server the
CLI uses) in a thread, over the local services of ``tests/unit/gateway/local_services.py``.
Skipped with a reason when the worker extra is missing.
"""

from __future__ import annotations

import functools
import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

for _module in ("torch", "transformers", "starlette", "uvicorn", "safetensors"):
    pytest.importorskip(
        _module, reason=f"the gateway's integration tests run the real worker, which needs {_module}"
    )

from attestgw.access import Action  # noqa: E402 - after the skips above
from attestgw.appraisal import SnpPolicy  # noqa: E402
from attestgw.attestation import load_bundle_policy  # noqa: E402
from attestgw.gateway import (  # noqa: E402
    GatewayServer,
    GatewayServices,
    WorkerPool,
    create_app,
    parse_settings,
    server_config,
)
from tests.integration.client.loopback import (  # noqa: E402
    CountingApp,
    LoopbackServer,
    WorkerParts,
    build_worker,
    policy_file,
)
from tests.unit.gateway.local_services import (  # noqa: E402
    ALICE,
    ALICE_TOKEN,
    BOB,
    BOB_TOKEN,
    AllowList,
    CountingQuotas,
    MemoryRecorder,
    StaticTokens,
)

ALLOWED = {
    ("alice", Action.ATTEST, "tiny"),
    ("alice", Action.INFER, "tiny"),
    ("alice", Action.LIST_MODELS, "*"),
    ("bob", Action.LIST_MODELS, "*"),
}


@dataclass
class Workers:
    parts: WorkerParts
    policy: SnpPolicy
    policy_path: Path


@pytest.fixture(scope="session")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    state = tmp_path_factory.mktemp("gateway-worker")
    parts = build_worker(state)
    policy, path = policy_file(state, parts.policy_toml)
    try:
        yield Workers(parts, policy, path)
    finally:
        parts.engine.close()


@dataclass
class RunningWorker:
    url: str
    app: CountingApp
    server: LoopbackServer


@pytest.fixture(scope="session")
def two_workers(workers: Workers) -> Iterator[list[RunningWorker]]:
    with ExitStack() as stack:
        running = []
        for _ in range(2):
            app = workers.parts.app()
            server = stack.enter_context(LoopbackServer(app))
            running.append(RunningWorker(server.url, app, server))
        yield running


class GatewayThread:
    """The gateway app under GatewayServer on 127.0.0.1:0 in a thread."""

    def __init__(self, app: object, server: GatewayServer) -> None:
        self.app = app
        self.server = server
        self.thread = threading.Thread(target=server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> GatewayThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class Gateway:
    url: str
    recorder: MemoryRecorder
    quotas: CountingQuotas
    pool: WorkerPool
    log: io.StringIO
    app: object
    thread: GatewayThread

    def wait_ready(self, count: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while sum(w.routable for w in self.pool.workers) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} workers admitted: {self.pool.workers}")
            time.sleep(0.02)


def settings_toml(urls: list[str], policy: Path, extra: str = "") -> bytes:
    entries = "".join(f'[[workers]]\nurl = "{u}"\nmodels = ["tiny"]\n\n' for u in urls)
    text = (
        f'listen = "127.0.0.1:0"\n{extra}\n[pool]\npolicy = "{policy}"\nhealth_interval_s = 0.2\n'
        f"reattest_interval_s = 60\n\n[relay]\nconnect_timeout_s = 1\nread_timeout_s = 20\n"
        f"max_request_bytes = 65536\ndrain_timeout_s = 5\n\n{entries}"
    )
    return text.encode()


@contextmanager
def start_gateway(
    workers: Workers,
    urls: list[str],
    *,
    quotas: CountingQuotas | None = None,
    policy: Path | None = None,
    allowed: set[tuple[str, Action, str]] | None = None,
) -> Iterator[Gateway]:
    """A gateway over ``urls`` with local services, served until the block ends."""
    settings = parse_settings(settings_toml(urls, policy or workers.policy_path), environ={})
    recorder = MemoryRecorder()
    quotas = quotas or CountingQuotas()
    pool = WorkerPool(
        settings.workers,
        load_bundle_policy(settings.pool.policy),
        settings.pool,
        recorder,
        policy_bytes=Path(settings.pool.policy).read_bytes(),
    )
    log = io.StringIO()
    services = GatewayServices(
        authenticator=StaticTokens({ALICE_TOKEN: ALICE, BOB_TOKEN: BOB}),
        authorizer=AllowList(set(ALLOWED if allowed is None else allowed)),
        quotas=quotas,
        recorder=recorder,
        pool=pool,
        log_stream=log,
    )
    app = create_app(settings, services)
    server = GatewayServer(server_config(app, settings, port=0), app.state.lifecycle)
    with GatewayThread(app, server) as thread:
        yield Gateway(thread.url, recorder, quotas, pool, log, app, thread)


@pytest.fixture
def make_gateway(workers: Workers) -> Callable[..., AbstractContextManager[Gateway]]:
    return functools.partial(start_gateway, workers)
