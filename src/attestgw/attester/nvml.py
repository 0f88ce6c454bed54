"""NVIDIA GPU evidence through NVML (``nvidia-ml-py``): a :class:`~attestgw.attester.base.GpuAttester`.

:meth:`NvmlGpuAttester.collect` (blocking; NVML initialised and shut down per call):

1. the system's confidential-computing state: CC off → ``attester.gpu_unavailable`` (no report is
   produced); developer-tools mode on is *reported* (``cc_mode = "devtools"``) so that the relying
   party refuses it with ``policy.gpu_devtools_on`` rather than seeing a worker that cannot attest;
2. every GPU, in NVML index order: the SPDM GET_MEASUREMENTS transcript for the nonce
   (``nvmlDeviceGetConfComputeGpuAttestationReport``), the attestation certificate chain (PEM,
   ``nvmlDeviceGetConfComputeGpuCertificate``), the architecture, the driver and VBIOS versions;
3. one serialized-evidence object per GPU (NVIDIA's JSON shape plus ``cc_mode``), as JSON bytes.

NVML failures are ``attester.gpu_request_failed``; no NVML library, no driver or no GPU is
``attester.gpu_unavailable``. The ``nvml`` module is injectable so tests can run a fake NVML.

Not checked here: anything. The CC mode, versions and chain are what the driver says; the relying
party verifies the signed evidence and treats ``cc_mode`` as reported, not signed.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
from types import ModuleType
from typing import Any

from attestgw.errors import ConfigError, FormatError

__all__ = ["NvmlGpuAttester"]

_ARCHS = {9: "HOPPER", 10: "BLACKWELL"}


def _text(value: Any) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


class NvmlGpuAttester:
    """GPU evidence from NVML. ``nvml``: the ``pynvml`` module (imported on first use when ``None``)."""

    __slots__ = ("_nvml",)

    def __init__(self, nvml: ModuleType | None = None) -> None:
        self._nvml = nvml

    def __repr__(self) -> str:
        return "NvmlGpuAttester()"

    def _module(self) -> ModuleType:
        if self._nvml is None:
            try:
                self._nvml = importlib.import_module("pynvml")
            except ImportError:
                raise ConfigError(
                    "attester.gpu_unavailable", "nvidia-ml-py (pynvml) is not installed"
                ) from None
        return self._nvml

    def collect(self, nonce: bytes) -> list[bytes]:
        """One serialized-evidence object (JSON bytes) per GPU for ``nonce`` (32 bytes)."""
        if len(nonce) != 32:
            raise ValueError(f"the GPU nonce must be 32 bytes, got {len(nonce)}")
        nvml = self._module()
        error: type[BaseException] = getattr(nvml, "NVMLError", OSError)
        try:
            nvml.nvmlInit()
        except error as exc:
            raise ConfigError("attester.gpu_unavailable", f"NVML could not start: {exc}") from None
        try:
            return self._collect(nvml, nonce)
        except error as exc:
            raise FormatError("attester.gpu_request_failed", f"NVML: {exc}") from None
        finally:
            with contextlib.suppress(error):
                nvml.nvmlShutdown()

    def _collect(self, nvml: ModuleType, nonce: bytes) -> list[bytes]:
        # 1. the CC state of the system (one setting for every GPU)
        state = nvml.nvmlSystemGetConfComputeState()
        if state.ccFeature != nvml.NVML_CC_SYSTEM_FEATURE_ENABLED:
            raise ConfigError("attester.gpu_unavailable", "the GPUs are not in confidential-computing mode")
        cc_mode = "devtools" if state.devToolsMode == nvml.NVML_CC_SYSTEM_DEVTOOLS_MODE_ON else "on"
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        count = nvml.nvmlDeviceGetCount()
        if count < 1:
            raise ConfigError("attester.gpu_unavailable", "NVML reports no GPU")
        out = []
        # 2-3. every GPU in index order
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            report = nvml.nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)
            size = int(report.attestationReportSize)
            cert = nvml.nvmlDeviceGetConfComputeGpuCertificate(handle)
            chain_size = int(cert.attestationCertChainSize)
            if not 0 < size <= len(report.attestationReport) or not 0 < chain_size <= len(
                cert.attestationCertChain
            ):
                raise FormatError(
                    "attester.gpu_request_failed", f"GPU {index}: NVML returned an empty report"
                )
            arch = _ARCHS.get(int(nvml.nvmlDeviceGetArchitecture(handle)))
            item = {
                "evidence": base64.b64encode(bytes(report.attestationReport[:size])).decode("ascii"),
                "certificate": base64.b64encode(bytes(cert.attestationCertChain[:chain_size])).decode(
                    "ascii"
                ),
                "nonce": nonce.hex(),
                "driver_version": driver,
                "vbios_version": _text(nvml.nvmlDeviceGetVbiosVersion(handle)),
                "cc_mode": cc_mode,
            }
            if arch is not None:  # an architecture NVML names but attestgw does not: left to the chain
                item["arch"] = arch
            out.append(json.dumps(item, sort_keys=True).encode("utf-8"))
        return out
