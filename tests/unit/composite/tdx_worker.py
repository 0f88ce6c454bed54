"""A TDX worker in process: simulated TDX guest + the real AttestationService and WorkerIdentity.

As in the worker, the platform is certified now and collateral is issued with each quote, so bundles
verify at :func:`attestgw.clock.utcnow`. Key generation is the slow part: build it once per module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from attestgw.attestation import BundlePolicy, parse_bundle_policy
from attestgw.attester.base import GpuAttester
from attestgw.attester.simulated_intel import SimulatedIntelAuthority
from attestgw.attester.simulated_tdx import SimulatedTdxAttester
from attestgw.attester.simulated_tdx_backend import SimulatedTdxBackend
from attestgw.worker.attestation import AttestationService
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.settings import ServedModel

__all__ = ["MODEL", "TdxWorker", "encode", "make_tdx_worker"]

MODEL = ServedModel("tiny", "cd" * 32)


@dataclass
class TdxWorker:
    backend: SimulatedTdxBackend
    identity: WorkerIdentity

    def service(self, gpu: GpuAttester | None = None) -> AttestationService:
        return AttestationService(self.identity, self.backend, (MODEL,), gpu_attester=gpu)

    def bundle(self, nonce: bytes, gpu: GpuAttester | None = None) -> dict[str, Any]:
        return self.service(gpu).bundle(nonce)

    def policy_text(self, extra: str = "") -> str:
        return self.backend.policy_toml() + extra

    def policy(self, extra: str = "") -> BundlePolicy:
        return parse_bundle_policy(self.policy_text(extra).encode(), source="tdx test policy")


def make_tdx_worker(**attester_options: Any) -> TdxWorker:
    authority = SimulatedIntelAuthority(enable_simulation=True)
    attester = SimulatedTdxAttester(authority, enable_simulation=True, **attester_options)
    backend = SimulatedTdxBackend(attester, enable_simulation=True)
    return TdxWorker(backend, WorkerIdentity.start(backend))


def encode(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle).encode()
