"""Simulated NVIDIA GPUs as a :class:`~attestgw.attester.base.GpuAttester` (development only).

Wraps :class:`~attestgw.attester.simulated_nvidia.SimulatedNvidiaGpu`: :meth:`SimulatedGpuBackend.collect`
returns, per device, NVIDIA's serialized evidence object (one device, as JSON bytes: ``arch``,
``evidence``, ``certificate``, ``nonce``, versions and the ``cc_mode`` NVML would report) for the
nonce; :meth:`SimulatedGpuBackend.collateral` the signed driver and VBIOS RIMs of every device and
OCSP responses for every certificate that needs one, made now. Refused
(``config.simulation_disabled``) unless simulation is explicitly enabled.

:meth:`SimulatedGpuBackend.policy_toml` writes the ``[nvidia]`` policy section that trusts exactly
these simulated roots (strict defaults otherwise), to append to the simulated SNP policy.

Knobs for negative tests: ``cc_mode`` (``devtools``, ``off``) and ``ocsp`` (keyword arguments of
:meth:`SimulatedNvidiaGpu.ocsp_responses`, e.g. ``{"revoked": ("GH100 A01 GSP BROM",)}``).
What is not simulated: a GPU. Nothing here isolates anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.clock import utcnow

__all__ = ["SimulatedGpuBackend"]


class SimulatedGpuBackend:
    """One or more simulated Hopper GPUs. ``collect`` and ``collateral`` are thread-safe."""

    __slots__ = ("_gpus", "_ocsp", "_rims", "cc_mode")

    def __init__(
        self,
        gpus: Sequence[SimulatedNvidiaGpu],
        *,
        cc_mode: str = "on",
        ocsp: Mapping[str, Any] | None = None,
        enable_simulation: bool = False,
    ) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedGpuBackend")
        if not gpus:
            raise ValueError("a simulated GPU backend needs at least one GPU")
        self._gpus = tuple(gpus)
        self.cc_mode = cc_mode
        self._ocsp = dict(ocsp or {})
        rims: list[bytes] = []
        for gpu in self._gpus:
            rims += [gpu.driver_rim(), gpu.vbios_rim()]
        self._rims = tuple(rims)

    @classmethod
    def create(cls, count: int = 1, *, enable_simulation: bool = False, **kwargs: Any) -> SimulatedGpuBackend:
        """``count`` fresh simulated GPUs, each with its own device and RIM roots, running the same
        firmware (same measurements and versions, as identical boards in one machine do)."""
        require_simulation_enabled(enable_simulation, "SimulatedGpuBackend")
        first = SimulatedNvidiaGpu(enable_simulation=True)
        gpus = [first]
        gpus += [
            SimulatedNvidiaGpu(enable_simulation=True, measurements=dict(first.measurements))
            for _ in range(count - 1)
        ]
        return cls(gpus, enable_simulation=True, **kwargs)

    def __repr__(self) -> str:
        return f"SimulatedGpuBackend({len(self._gpus)} GPU(s), cc_mode={self.cc_mode!r})"

    @property
    def gpus(self) -> tuple[SimulatedNvidiaGpu, ...]:
        return self._gpus

    @property
    def root_sha256s(self) -> tuple[str, ...]:
        """Every simulated device and RIM root, as a policy's ``trust_simulated_roots`` lists them."""
        return tuple(r for g in self._gpus for r in (g.device_root_sha256, g.rim_root_sha256))

    def collect(self, nonce: bytes) -> list[bytes]:
        """One serialized-evidence object per GPU (JSON bytes), in device order, for ``nonce``."""
        out = []
        for gpu in self._gpus:
            (item,) = json.loads(gpu.serialized(nonce, cc_mode=self.cc_mode))
            out.append(json.dumps(item, sort_keys=True).encode("utf-8"))
        return out

    def collateral(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """(RIMs, OCSP responses made now) for every GPU."""
        now = utcnow()
        ocsp = tuple(r for g in self._gpus for r in g.ocsp_responses(now, **self._ocsp))
        return self._rims, ocsp

    def policy_toml(self) -> str:
        """The ``[nvidia]`` section trusting exactly these simulated roots (SIMULATED; development only)."""
        roots = ", ".join(f'"{r}"' for r in self.root_sha256s)
        return (
            "\n# SIMULATED GPU: trusts locally generated NVIDIA roots. Development only.\n"
            "[nvidia]\n"
            'allowed_architectures = ["HOPPER"]\n'
            "require_measurement_match = true\n"
            "require_cc_mode = true\n"
            "require_nonce = true\n"
            "max_evidence_age_seconds = 300\n"
            f"expected_device_count = {len(self._gpus)}\n"
            f"trust_simulated_roots = [{roots}]\n"
        )
