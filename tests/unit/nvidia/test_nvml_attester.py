"""The NVML backend against a fake NVML module (the only thing that cannot run here: a GPU driver).

The fake answers like pynvml (ctypes-style structures with sizes and fixed buffers) from a simulated
GPU, so the attester's output is checked by the real verifier: what NVML hands over verifies.
"""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from attestgw.attester.nvml import NvmlGpuAttester
from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.errors import ConfigError, FormatError
from attestgw.evidence.nvidia import parse_gpu_evidence
from attestgw.verify.nvidia import GpuCollateral, OcspSettings, verify_gpus
from tests.unit.nvidia.conftest import options


class FakeNvmlError(Exception):
    pass


def fake_nvml(
    gpu: SimulatedNvidiaGpu, *, count: int = 1, cc: int = 1, devtools: int = 0, fail: str = ""
) -> Any:
    calls: list[str] = []

    def call(name: str) -> None:
        calls.append(name)
        if name == fail:
            raise FakeNvmlError(f"{name}: NVML_ERROR_NOT_SUPPORTED")

    def report(handle: int, nonce: bytes) -> Any:
        call("report")
        raw = gpu.evidence(bytes(nonce))
        return types.SimpleNamespace(
            attestationReportSize=len(raw), attestationReport=list(raw) + [0] * (0x2000 - len(raw))
        )

    def certificate(handle: int) -> Any:
        call("certificate")
        pem = gpu.certificate_chain_pem
        return types.SimpleNamespace(
            attestationCertChainSize=len(pem), attestationCertChain=list(pem) + [0] * (0x1400 - len(pem))
        )

    module = types.SimpleNamespace(
        NVMLError=FakeNvmlError,
        NVML_CC_SYSTEM_FEATURE_ENABLED=1,
        NVML_CC_SYSTEM_DEVTOOLS_MODE_ON=1,
        nvmlInit=lambda: call("init"),
        nvmlShutdown=lambda: call("shutdown"),
        nvmlSystemGetConfComputeState=lambda: types.SimpleNamespace(
            environment=2, ccFeature=cc, devToolsMode=devtools
        ),
        nvmlSystemGetDriverVersion=gpu.driver_version.encode,
        nvmlDeviceGetCount=lambda: count,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetConfComputeGpuAttestationReport=report,
        nvmlDeviceGetConfComputeGpuCertificate=certificate,
        nvmlDeviceGetArchitecture=lambda h: 9,
        nvmlDeviceGetVbiosVersion=lambda h: gpu.vbios_version,
        calls=calls,
    )
    return module


def test_nvml_evidence_verifies_and_states_the_cc_mode(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    nvml = fake_nvml(gpu, count=2)
    blobs = NvmlGpuAttester(nvml).collect(nonce)  # type: ignore[arg-type]
    assert len(blobs) == 2
    item = json.loads(blobs[0])
    assert item["cc_mode"] == "on"
    assert item["arch"] == "HOPPER"
    assert item["nonce"] == nonce.hex()
    evidence = [e for b in blobs for e in parse_gpu_evidence(b)]
    claims = verify_gpus(evidence, GpuCollateral(), options(gpu, nonce, ocsp=_no_ocsp()))
    assert [c.device_index for c in claims] == [0, 1]
    assert nvml.calls[0] == "init"
    assert nvml.calls[-1] == "shutdown"


def _no_ocsp() -> OcspSettings:
    return OcspSettings(required=False)


def test_devtools_mode_is_reported_not_hidden(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    (blob,) = NvmlGpuAttester(fake_nvml(gpu, devtools=1)).collect(nonce)  # type: ignore[arg-type]
    assert json.loads(blob)["cc_mode"] == "devtools"


@pytest.mark.parametrize(
    ("kwargs", "error", "code"),
    [
        ({"cc": 0}, ConfigError, "attester.gpu_unavailable"),
        ({"count": 0}, ConfigError, "attester.gpu_unavailable"),
        ({"fail": "init"}, ConfigError, "attester.gpu_unavailable"),
        ({"fail": "report"}, FormatError, "attester.gpu_request_failed"),
        ({"fail": "certificate"}, FormatError, "attester.gpu_request_failed"),
    ],
    ids=["cc off", "no gpu", "no driver", "report refused", "chain refused"],
)
def test_nvml_failures_have_codes_and_nvml_is_shut_down(
    gpu: SimulatedNvidiaGpu, nonce: bytes, kwargs: dict[str, Any], error: type[Exception], code: str
) -> None:
    nvml = fake_nvml(gpu, **kwargs)
    with pytest.raises(error) as err:
        NvmlGpuAttester(nvml).collect(nonce)  # type: ignore[arg-type]
    assert err.value.code == code  # type: ignore[attr-defined]
    if kwargs.get("fail") != "init":
        assert nvml.calls[-1] == "shutdown"


def test_a_nonce_of_the_wrong_size_is_a_programming_error(gpu: SimulatedNvidiaGpu) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        NvmlGpuAttester(fake_nvml(gpu)).collect(bytes(31))  # type: ignore[arg-type]
