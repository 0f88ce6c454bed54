"""Inputs and outputs of NVIDIA GPU verification: options, collateral and the verified-claims type.

``verify_gpu`` (:mod:`attestgw.verify.nvidia.verifier`) returns :class:`VerifiedGpuClaims`, which only
``attestgw.verify`` can construct (see ``verify/_seal.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from attestgw.evidence.nvidia import GpuReport
from attestgw.verify._seal import check_seal
from attestgw.verify.nvidia.measurements import MeasurementComparison
from attestgw.verify.nvidia.ocsp import OcspOutcome, OcspSettings
from attestgw.verify.nvidia.trust import NVIDIA_TRUST, NvidiaTrustStore

__all__ = ["GpuArch", "GpuCollateral", "GpuVerifyOptions", "RimRole", "VerifiedGpuClaims", "VerifiedRim"]


class GpuArch(enum.Enum):
    """The device family, read from the verified leaf certificate's CN (``GH100 …``, ``GB100 …``)."""

    HOPPER = "HOPPER"
    BLACKWELL = "BLACKWELL"
    LS10 = "LS10"


class RimRole(enum.Enum):
    DRIVER = "driver"
    VBIOS = "vbios"


@dataclass(frozen=True, slots=True)
class GpuVerifyOptions:
    """How to verify. ``at`` is the verification time (timezone-aware); there is no default clock.

    ``expected_nonce``: the 32 bytes the verifier put into the SPDM request (for attestgw workers,
    ``attestgw.evidence.binding.gpu_nonce``); when None the nonce is not checked and the claims say
    so (``nonce_checked``). ``ocsp``: revocation strictness (fail closed by default).
    """

    at: datetime
    expected_nonce: bytes | None = None
    trust: NvidiaTrustStore = NVIDIA_TRUST
    ocsp: OcspSettings = field(default_factory=OcspSettings)


@dataclass(frozen=True, slots=True)
class GpuCollateral:
    """``certificate_chain``: PEM device chain when the evidence carries none; ``rims``: candidate RIM
    documents (the verifier picks the ones for the evidence's driver and VBIOS); ``ocsp_responses``:
    DER OCSP responses for the device and RIM chains. Without RIMs nothing is compared."""

    certificate_chain: bytes | None = None
    rims: tuple[bytes, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifiedRim:
    """A RIM whose XML signature, chain (pinned, valid at ``verified_at``) and OCSP status passed."""

    role: RimRole
    version: str
    expected_version: str | None
    tag_id: str
    signer_sha256: str
    root_sha256: str
    valid_until: datetime
    simulated: bool
    ocsp: OcspOutcome

    @property
    def version_matches(self) -> bool:
        return self.expected_version is not None and self.version.upper() == self.expected_version.upper()


@dataclass(frozen=True, slots=True)
class VerifiedGpuClaims:
    """What a successful verification of one device establishes. Only ``attestgw.verify`` builds it.

    Checked: the device chain to the pinned NVIDIA Device Identity CA (valid at ``verified_at``,
    OCSP per ``ocsp_opt_ins``), the SPDM signature over request ‖ response, the FWID (when the
    evidence carries one), the nonce (when ``nonce_checked``), envelope values equal to the signed
    ones, and every selected RIM (signature, chain, OCSP). ``comparison`` is None when no RIM was
    supplied: measurements are then reported, not compared. ``unverified_cc_mode`` is what NVML told
    the host (not signed); appraisal treats it as such.
    """

    device_index: int
    report: GpuReport
    arch: GpuArch
    hwmodel: str
    leaf_sha256: str
    root_sha256: str
    fwid: bytes | None
    fwid_checked: bool
    nonce: bytes
    nonce_checked: bool
    driver_version: str | None
    vbios_version: str | None
    rims: tuple[VerifiedRim, ...]
    comparison: MeasurementComparison | None
    device_ocsp: OcspOutcome
    ocsp_opt_ins: tuple[str, ...]
    unverified_cc_mode: str | None
    simulated: bool
    verified_at: datetime
    valid_until: datetime
    seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seal(self.seal, "VerifiedGpuClaims")

    def rim(self, role: RimRole) -> VerifiedRim | None:
        return next((r for r in self.rims if r.role is role), None)

    @property
    def ocsp_checked(self) -> bool:
        """True when no certificate was left unchecked (device chain and every RIM chain)."""
        return not self.device_ocsp.unchecked and all(not r.ocsp.unchecked for r in self.rims)
