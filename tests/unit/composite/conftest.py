"""A composite worker in process: simulated SEV-SNP guest + simulated GPUs + real AttestationService.

Bundles are built by the worker's own :class:`~attestgw.worker.attestation.AttestationService`
(the code ``GET /attestation`` runs), so these tests exercise the attester side and the relying
party's ``appraise_bundle`` against each other. Key generation is the slow part: the CPU guest and
the GPUs are built once per module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from attestgw.attestation import BundlePolicy, parse_bundle_policy
from attestgw.attester.base import GpuAttester
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.attester.simulated_gpu import SimulatedGpuBackend
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.evidence.snp import Product
from attestgw.worker.attestation import AttestationService
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.settings import ServedModel
from tests.unit.attester.simulated_pki import authority

MODEL = ServedModel("tiny", "ab" * 32)


@dataclass
class CompositeWorker:
    cpu: SimulatedSnpBackend
    gpus: SimulatedGpuBackend
    identity: WorkerIdentity

    def service(self, gpu: GpuAttester | None = None) -> AttestationService:
        return AttestationService(self.identity, self.cpu, (MODEL,), gpu_attester=gpu or self.gpus)

    def bundle(self, nonce: bytes, gpu: GpuAttester | None = None) -> dict[str, Any]:
        return self.service(gpu).bundle(nonce)

    def policy_text(self, gpu_section: str | None = None) -> str:
        return self.cpu.policy_toml() + (self.gpus.policy_toml() if gpu_section is None else gpu_section)

    def policy(self, gpu_section: str | None = None) -> BundlePolicy:
        return parse_bundle_policy(self.policy_text(gpu_section).encode(), source="composite test policy")


def encode(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle).encode()


def make_worker(gpu_count: int = 1, **gpu_options: Any) -> CompositeWorker:
    guest = SimulatedSnpAttester(authority(Product.GENOA), enable_simulation=True)
    cpu = SimulatedSnpBackend(guest, enable_simulation=True)
    gpus = SimulatedGpuBackend.create(gpu_count, enable_simulation=True, **gpu_options)
    return CompositeWorker(cpu, gpus, WorkerIdentity.start(cpu))


@pytest.fixture(scope="module")
def worker() -> CompositeWorker:
    return make_worker()


@pytest.fixture
def nonce() -> bytes:
    return os.urandom(32)


class NonceOverride:
    """A GPU attester that signs another nonce than the one it is asked for."""

    def __init__(self, inner: SimulatedGpuBackend, make: Callable[[bytes], bytes]) -> None:
        self.inner = inner
        self.make = make

    def collect(self, nonce: bytes) -> list[bytes]:
        return self.inner.collect(self.make(nonce))

    def collateral(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        return self.inner.collateral()
