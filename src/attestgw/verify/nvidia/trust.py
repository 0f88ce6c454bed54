"""Pinned NVIDIA roots, by SHA-256 fingerprint of the certificate's DER (formats.md §4.4, §4.6).

Neither root is vendored: device chains (from the driver) and RIMs (in ``KeyInfo``) carry their root,
and the verifier accepts it only if its fingerprint equals a pin here.

Provenance (reviewed data): the **NVIDIA Device Identity CA** (``CN=NVIDIA Device Identity CA,
O=NVIDIA``, serial ``2d36…`` = 60097929556477802998552141741435542356, self-signed P-384, valid
2021-11-05 .. 9999-12-31) roots every GPU (GH100, GB100) and NVSwitch (LS_10) device chain; NVIDIA
ships it as ``verifier_device_root.pem`` in NVIDIA/nvtrust (local GPU verifier and NVSwitch
verifier) and confidential-containers/trustee embeds the same DER. The **NVIDIA CoRIM signing Root
CA** (``CN=NVIDIA CoRIM signing Root CA, O=NVIDIA, C=US``, serial 92853269212235586300628709768164663920,
self-signed P-384, valid 2023-03-16 .. 2053-03-08) signs the RIM signer chains; NVIDIA ships it as
``verifier_RIM_root.pem`` (nvtrust) and ``trusted_certs/rim_root.crt`` (attestation-sdk). The
fingerprints were computed over those files, byte-identical across the sources (retrieved 2026 from
the project's shared corpus, ``nvidia/roots``).

Simulated roots are never in :data:`NVIDIA_TRUST`; :meth:`NvidiaTrustStore.with_simulated` adds
them, and results verified against one are marked simulated.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "NVIDIA_DEVICE_ROOT_SHA256",
    "NVIDIA_RIM_ROOT_SHA256",
    "NVIDIA_TRUST",
    "NvidiaTrustAnchor",
    "NvidiaTrustStore",
    "RootKind",
]

NVIDIA_DEVICE_ROOT_SHA256 = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
NVIDIA_RIM_ROOT_SHA256 = "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1"


class RootKind(enum.Enum):
    DEVICE = "device"
    RIM = "rim"


@dataclass(frozen=True, slots=True)
class NvidiaTrustAnchor:
    kind: RootKind
    root_sha256: str
    simulated: bool
    provenance: str


@dataclass(frozen=True, slots=True)
class NvidiaTrustStore:
    anchors: tuple[NvidiaTrustAnchor, ...]

    def find(self, kind: RootKind, root_sha256: str) -> NvidiaTrustAnchor | None:
        """The anchor of ``kind`` whose fingerprint is ``root_sha256`` (lowercase hex), if any."""
        for anchor in self.anchors:
            if anchor.kind is kind and anchor.root_sha256 == root_sha256:
                return anchor
        return None

    def with_simulated(self, kind: RootKind, root_sha256: str) -> NvidiaTrustStore:
        """A copy that also trusts a simulated root. Results that rely on it say so."""
        extra = NvidiaTrustAnchor(kind, root_sha256.lower(), True, "simulated (explicit opt-in)")
        return NvidiaTrustStore((*self.anchors, extra))


NVIDIA_TRUST = NvidiaTrustStore(
    (
        NvidiaTrustAnchor(
            RootKind.DEVICE,
            NVIDIA_DEVICE_ROOT_SHA256,
            False,
            "NVIDIA Device Identity CA; nvtrust verifier_device_root.pem, identical in trustee",
        ),
        NvidiaTrustAnchor(
            RootKind.RIM,
            NVIDIA_RIM_ROOT_SHA256,
            False,
            "NVIDIA CoRIM signing Root CA; nvtrust verifier_RIM_root.pem, identical in attestation-sdk",
        ),
    )
)
