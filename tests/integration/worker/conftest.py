"""A worker on a simulated TEE with the toy inner app, served by uvicorn on loopback (one per module)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.crypto.hpke import xwing_available
from attestgw.evidence.snp import Product
from attestgw.ohttp import KeyConfig, decode_key_configs
from attestgw.worker import ServedModel, WorkerIdentity, WorkerServices, WorkerSettings, create_app
from tests.integration.worker.server import UvicornThread
from tests.integration.worker.toy_inner import MODEL, ToyInner
from tests.unit.attester.simulated_pki import authority

MODEL_DIGEST = hashlib.sha256(b"toy model manifest").hexdigest()


@dataclass
class RunningWorker:
    url: str
    identity: WorkerIdentity
    toy: ToyInner
    settings: WorkerSettings
    backend: SimulatedSnpBackend

    def bundle(self, client: httpx.Client, nonce: bytes | None = None) -> dict[str, Any]:
        nonce = os.urandom(32) if nonce is None else nonce
        response = client.get(self.url + "/attestation", params={"nonce": nonce.hex()})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def configs(self, client: httpx.Client) -> tuple[KeyConfig, ...]:
        response = client.get(self.url + "/ohttp-keys")
        assert response.status_code == 200
        return decode_key_configs(response.content)


@pytest.fixture(scope="session")
def sim_backend() -> SimulatedSnpBackend:
    guest = SimulatedSnpAttester(authority(Product.GENOA), enable_simulation=True)
    return SimulatedSnpBackend(guest, enable_simulation=True)


@pytest.fixture(scope="module")
def running(sim_backend: SimulatedSnpBackend) -> Iterator[RunningWorker]:
    toy = ToyInner()
    settings = WorkerSettings(
        model=ServedModel(MODEL, MODEL_DIGEST),
        max_request_bytes=64 * 1024,
        pq_key=xwing_available(),
        bench_plaintext=True,
    )
    app = create_app(settings, WorkerServices(cpu_attester=sim_backend, inner_app=toy.app))
    with UvicornThread(app) as server:
        yield RunningWorker(server.url, app.state.identity, toy, settings, sim_backend)
    assert toy.lifespan_events == ["startup", "shutdown"]


@pytest.fixture
def worker(running: RunningWorker) -> RunningWorker:
    running.toy.seen.clear()
    running.toy.gate.clear()
    return running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c
