"""Pinned AMD root keys (ARK) for SEV-SNP, by SHA-256 fingerprint of the certificate's DER.

AMD's root certificates are not vendored: the verifier accepts whatever ARK the collateral carries
only if its fingerprint equals the pin for the report's product line. The same ARK signs both the
ASK (VCEK chain) and the ASVK (VLEK chain) of a product.

Provenance (reviewed data; see ``keys/amd-ark-pins.md``): AMD publishes the chains at
``https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain`` and ``/vlek/v1/…/cert_chain``.
The fingerprints below were computed over the ARK certificates as served there and as embedded,
byte-identical, by google/go-sev-guest, virtee/sev, project-oak and confidential-containers/trustee
(retrieved 2026-11-23 from the project's shared corpus, ``snp/amd-roots``).

Simulated roots are never in :data:`AMD_TRUST`; a caller who wants them builds a store with
:meth:`TrustStore.with_simulated`, and every result verified against one is marked simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

from attestgw.evidence.snp import Product

__all__ = ["AMD_TRUST", "TrustAnchor", "TrustStore"]


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    product: Product
    ark_sha256: str
    simulated: bool
    provenance: str


@dataclass(frozen=True, slots=True)
class TrustStore:
    anchors: tuple[TrustAnchor, ...]

    def find(self, product: Product, ark_sha256: str) -> TrustAnchor | None:
        """The anchor for ``product`` whose fingerprint is ``ark_sha256`` (lowercase hex)."""
        for anchor in self.anchors:
            if anchor.product is product and anchor.ark_sha256 == ark_sha256:
                return anchor
        return None

    def with_simulated(self, product: Product, ark_sha256: str) -> TrustStore:
        """A copy that also trusts a simulated ARK. Results that rely on it say so."""
        extra = TrustAnchor(product, ark_sha256.lower(), True, "simulated (explicit opt-in)")
        return TrustStore((*self.anchors, extra))

    def without_real_roots(self) -> TrustStore:
        return TrustStore(tuple(a for a in self.anchors if a.simulated))


_PROVENANCE = "AMD KDS cert_chain; identical in go-sev-guest, virtee/sev, oak, trustee"

AMD_TRUST = TrustStore(
    (
        TrustAnchor(
            Product.MILAN,
            "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
            False,
            _PROVENANCE,
        ),
        TrustAnchor(
            Product.GENOA,
            "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
            False,
            _PROVENANCE,
        ),
        TrustAnchor(
            Product.TURIN,
            "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
            False,
            _PROVENANCE,
        ),
    )
)
