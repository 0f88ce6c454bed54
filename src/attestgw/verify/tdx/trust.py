"""The pinned Intel SGX Root CA, by SHA-256 fingerprint of its DER (formats.md §3.5).

The root certificate is not vendored: collateral issuer chains carry it, and the verifier
accepts it only if its fingerprint equals a pin here. One root signs the PCK CA certificates,
the TCB Signing certificate and the root CRL.

Provenance (reviewed data): ``CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA,
C=US``, serial ``22650cd65a9d3489f383b49552bf501b392706ac``, valid 2018-05-21 .. 2049-12-31,
self-signed P-256. Intel distributes it through its PCS site (certificates.trustedservices.intel.com).
The fingerprint below was computed over the DER as embedded, byte-identical, by Phala dcap-qvl
(``src/TrustedRootCA.der``), google/go-tdx-guest (``verify/trusted_root.pem``), project-oak,
openpcc, tinfoil and automata (retrieved 2026 from the project's shared corpus,
``tdx/intel-roots`` and ``tdx/automata/intel-pcs``).

Simulated roots are never in :data:`INTEL_TRUST`; :meth:`IntelTrustStore.with_simulated` adds
one, and results verified against it are marked simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INTEL_SGX_ROOT_SHA256", "INTEL_TRUST", "IntelTrustAnchor", "IntelTrustStore"]

INTEL_SGX_ROOT_SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"


@dataclass(frozen=True, slots=True)
class IntelTrustAnchor:
    root_sha256: str
    simulated: bool
    provenance: str


@dataclass(frozen=True, slots=True)
class IntelTrustStore:
    anchors: tuple[IntelTrustAnchor, ...]

    def find(self, root_sha256: str) -> IntelTrustAnchor | None:
        """The anchor whose fingerprint is ``root_sha256`` (lowercase hex), if any."""
        for anchor in self.anchors:
            if anchor.root_sha256 == root_sha256:
                return anchor
        return None

    def with_simulated(self, root_sha256: str) -> IntelTrustStore:
        """A copy that also trusts a simulated root. Results that rely on it say so."""
        extra = IntelTrustAnchor(root_sha256.lower(), True, "simulated (explicit opt-in)")
        return IntelTrustStore((*self.anchors, extra))


INTEL_TRUST = IntelTrustStore(
    (
        IntelTrustAnchor(
            INTEL_SGX_ROOT_SHA256,
            False,
            "Intel SGX Root CA; identical in dcap-qvl, go-tdx-guest, oak, openpcc, tinfoil, automata",
        ),
    )
)
