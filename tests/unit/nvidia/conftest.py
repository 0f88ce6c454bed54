"""A simulated GPU (one per module: key generation is the slow part) and helpers to verify its output."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.verify.nvidia import NVIDIA_TRUST, GpuVerifyOptions, NvidiaTrustStore, RootKind

AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def gpu() -> SimulatedNvidiaGpu:
    return SimulatedNvidiaGpu(enable_simulation=True)


@pytest.fixture
def nonce() -> bytes:
    return os.urandom(32)


def trust_for(gpu: SimulatedNvidiaGpu) -> NvidiaTrustStore:
    return NVIDIA_TRUST.with_simulated(RootKind.DEVICE, gpu.device_root_sha256).with_simulated(
        RootKind.RIM, gpu.rim_root_sha256
    )


def options(gpu: SimulatedNvidiaGpu, nonce: bytes | None, **kwargs: object) -> GpuVerifyOptions:
    return GpuVerifyOptions(at=AT, expected_nonce=nonce, trust=trust_for(gpu), **kwargs)  # type: ignore[arg-type]
