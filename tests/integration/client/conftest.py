"""Session fixtures: the real worker (simulated SEV-SNP, tiny model) and a relay, both on loopback.

Skipped with a reason when the worker extra (torch, transformers, starlette, uvicorn) is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

for _module in ("torch", "transformers", "starlette", "uvicorn", "safetensors"):
    pytest.importorskip(
        _module, reason=f"the client's integration tests run the real worker, which needs {_module}"
    )

from tests.integration.client.loopback import (  # noqa: E402 - after the skips above
    LoopbackServer,
    RunningWorker,
    build_worker,
    policy_file,
)
from tests.integration.client.relay import Relay  # noqa: E402


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWorker]:
    state: Path = tmp_path_factory.mktemp("worker")
    parts = build_worker(state)
    policy, path = policy_file(state, parts.policy_toml)
    app = parts.app()
    try:
        with LoopbackServer(app) as server:
            yield RunningWorker(server.url, app, policy, path, "tiny", parts.model_digest, parts)
    finally:
        parts.engine.close()


@pytest.fixture(scope="session")
def relay_server(worker: RunningWorker) -> Iterator[tuple[Relay, str]]:
    relay = Relay(worker.url)
    with LoopbackServer(relay) as server:
        yield relay, server.url


@pytest.fixture
def relay(relay_server: tuple[Relay, str]) -> Iterator[tuple[Relay, str]]:
    """The relay, reset to pass-through before and after each test."""
    relay_server[0].reset()
    yield relay_server
    relay_server[0].reset()
