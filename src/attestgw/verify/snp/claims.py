"""Inputs and outputs of SEV-SNP verification: collateral, options, and the verified-claims type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from attestgw.evidence.snp import (
    AttestationReport,
    CertTable,
    Product,
    SigningKey,
    TcbParts,
)
from attestgw.verify._seal import check_seal
from attestgw.verify.snp.trust import AMD_TRUST, TrustStore

__all__ = [
    "SnpCollateral",
    "SnpCollateralFetcher",
    "SnpVerifyOptions",
    "VerifiedSnpClaims",
]


@dataclass(frozen=True, slots=True)
class SnpCollateral:
    """Collateral supplied by the caller. Everything here is untrusted until verified.

    ``signing_cert``: the VCEK or VLEK, DER or PEM. ``chain``: PEM bundle with ASK/ASVK and ARK
    (either order). ``crl``: the AMD CRL for the product, DER or PEM. ``cert_table``: the
    extended-report certificate table, used for whatever of the above is not given explicitly.
    """

    signing_cert: bytes | None = None
    chain: bytes | None = None
    crl: bytes | None = None
    cert_table: CertTable | None = None


class SnpCollateralFetcher(Protocol):
    """Fetches AMD collateral (AMD KDS, a cache, a mirror). Passed in; never created by verify.

    Each method raises :class:`~attestgw.errors.CollateralUnavailableError` when it cannot deliver.
    """

    def signing_cert(self, product: Product, kind: SigningKey, chip_id: bytes, tcb: TcbParts) -> bytes: ...

    def chain(self, product: Product, kind: SigningKey) -> bytes: ...

    def crl(self, product: Product, kind: SigningKey) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SnpVerifyOptions:
    """How to verify. ``at`` is the verification time (timezone-aware); there is no default clock.

    ``product``: the product line to assume for v2 reports whose certificates do not name one.
    ``require_crl``: refuse (``snp.crl_required``) when no CRL is supplied or fetched.
    ``fetcher``: used only for collateral the caller did not supply; ``None`` means offline.
    """

    at: datetime
    trust: TrustStore = AMD_TRUST
    require_crl: bool = False
    product: Product | None = None
    fetcher: SnpCollateralFetcher | None = None


@dataclass(frozen=True, slots=True)
class VerifiedSnpClaims:
    """What a successful SNP verification establishes. Only ``attestgw.verify`` can construct it.

    Every field was checked: the report signature verified with ``signing_cert``'s key, the chain
    verified to a pinned (or explicitly trusted simulated) ARK at ``verified_at``, the certificate's
    TCB equals REPORTED_TCB, and (VCEK) its hwID equals CHIP_ID. ``crl_checked`` says whether
    revocation was checked; ``simulated`` whether the root is a simulated one. ``chip_id_checked``
    is False for VLEK reports and for a masked (all-zero) CHIP_ID, where there is nothing to compare.
    """

    report: AttestationReport
    product: Product
    signing_key: SigningKey
    reported_tcb: TcbParts
    current_tcb: TcbParts
    committed_tcb: TcbParts
    launch_tcb: TcbParts
    product_name: str
    csp_id: str | None
    ark_sha256: str
    intermediate_sha256: str
    signing_cert_sha256: str
    simulated: bool
    crl_checked: bool
    crl_next_update: datetime | None
    verified_at: datetime
    collateral_fetched: tuple[str, ...] = ()
    chip_id_checked: bool = False
    seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seal(self.seal, "VerifiedSnpClaims")
