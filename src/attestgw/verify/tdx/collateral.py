"""Verify an Intel collateral bundle at a given time (formats.md §3.6, §3.8 steps 3-4).

:func:`verify_collateral` runs, in order, each step with its code:

1. Each issuer chain (TCB info, QE identity, PCK CRL) is exactly ``[signer, root]`` PEM; the root's
   SHA-256 is pinned in the trust store (``tdx.root_not_pinned``); the root is self-signed, the
   signer is issued and signed by it (``tdx.collateral_chain_invalid``); both are valid at ``at``
   (``tdx.collateral_expired``).
2. The root CRL is issued and signed by the root, the PCK CRL by the PCK CA of its chain
   (``tdx.crl_invalid``); ``thisUpdate ≤ at < nextUpdate`` for both (``tdx.collateral_expired``).
3. No signer certificate is listed in the root CRL (``tdx.collateral_revoked``).
4. TCB info and QE identity signatures (P-256/SHA-256, raw ``r‖s``) verify over the exact raw JSON
   bytes with their signer's key (``tdx.collateral_signature_invalid``).
5. ``issueDate ≤ at < nextUpdate`` for TCB info and QE identity (``tdx.collateral_expired``).

Expired collateral raises :class:`~attestgw.errors.CollateralUnavailableError` (exit 3): offline,
the remedy is fresher collateral, not a different quote. Everything else is a
:class:`~attestgw.errors.VerificationError`.

Not checked here: the PCK certificate itself and whether the PCK CRL lists it (the quote verifier
does that with :attr:`VerifiedCollateral.pck_crl_revoked`), signer CNs (only the pinned root can
have issued them), rollback of ``tcbEvaluationDataNumber`` across calls (no state here; callers
compare :attr:`TcbInfo.tcb_evaluation_data_number`), and the TCB evaluation-number collateral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from attestgw.clock import require_aware
from attestgw.crypto.p256 import p256_public_key, verify_p256_sha256
from attestgw.crypto.x509 import cert_sha256, der_bytes, load_crl, load_pem_bundle, verify_der_signed_by
from attestgw.errors import CollateralUnavailableError, VerificationError
from attestgw.evidence.tdx_collateral import CollateralBundle, QeIdentity, TcbInfo
from attestgw.verify.tdx.trust import INTEL_TRUST, IntelTrustStore

__all__ = ["VerifiedCollateral", "verify_collateral", "verify_crl", "verify_signed_json"]

_MALFORMED = "tdx.collateral_malformed"
_CHAIN = "tdx.collateral_chain_invalid"
_EXPIRED = "tdx.collateral_expired"


@dataclass(frozen=True, slots=True)
class VerifiedCollateral:
    """Collateral whose signatures, chains and dates were checked at :attr:`verified_at`.

    ``pck_crl_issuer`` is the DER subject of the PCK CA that signed ``pck_crl_revoked`` (the
    platform or processor CA): a PCK certificate may only be looked up in it if its issuer equals
    that name. ``valid_until`` is the earliest nextUpdate/notAfter of everything checked.
    """

    tcb_info: TcbInfo
    qe_identity: QeIdentity
    pck_crl_issuer: bytes
    pck_crl_revoked: frozenset[int]
    root_crl_revoked: frozenset[int]
    root_sha256: str
    simulated: bool
    verified_at: datetime
    valid_until: datetime


def _expired(what: str, start: datetime, end: datetime, at: datetime) -> CollateralUnavailableError:
    return CollateralUnavailableError(
        _EXPIRED, f"{what} is valid {start.isoformat()} .. {end.isoformat()}, not at {at.isoformat()}"
    )


def _chain(pem: bytes, what: str, trust: IntelTrustStore, at: datetime) -> tuple[x509.Certificate, str, bool]:
    """Step 1: ``(signer, root fingerprint, simulated)`` for a ``[signer, root]`` chain."""
    certs = load_pem_bundle(pem, code=_MALFORMED)
    if len(certs) != 2:
        raise VerificationError(_CHAIN, f"{what} holds {len(certs)} certificates, want signer and root")
    signer, root = certs
    fingerprint = cert_sha256(root)
    anchor = trust.find(fingerprint)
    if anchor is None:
        raise VerificationError("tdx.root_not_pinned", f"{what} root sha256 {fingerprint} is not pinned")
    root_der = der_bytes(root)
    if root.issuer != root.subject or not verify_der_signed_by(root_der, root):
        raise VerificationError(_CHAIN, f"{what} root is not self-signed")
    if signer.issuer != root.subject or not verify_der_signed_by(der_bytes(signer), root):
        raise VerificationError(_CHAIN, f"{what} signer is not issued and signed by the root")
    for role, cert in (("signer", signer), ("root", root)):
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise _expired(
                f"{what} {role} certificate", cert.not_valid_before_utc, cert.not_valid_after_utc, at
            )
    return signer, fingerprint, anchor.simulated


def _crl(der: bytes, issuer: x509.Certificate, what: str, at: datetime) -> tuple[frozenset[int], datetime]:
    """Step 2: the revoked serials and nextUpdate of a CRL signed by ``issuer`` and fresh at ``at``."""
    crl = load_crl(der, code="tdx.crl_invalid")
    if crl.issuer != issuer.subject or not verify_der_signed_by(der, issuer, crl=True):
        raise VerificationError(
            "tdx.crl_invalid", f"{what} is not issued and signed by {issuer.subject.rfc4514_string()}"
        )
    next_update = crl.next_update_utc
    if next_update is None:
        raise VerificationError("tdx.crl_invalid", f"{what} has no nextUpdate")
    if not crl.last_update_utc <= at < next_update:
        raise _expired(what, crl.last_update_utc, next_update, at)
    return frozenset(entry.serial_number for entry in crl), next_update


def _signed_json(raw: bytes, signature: bytes, signer: x509.Certificate, what: str) -> None:
    """Step 4: Intel's signature over the exact raw JSON bytes."""
    key = p256_public_key(signer, code=_CHAIN)
    if not verify_p256_sha256(key, signature, raw):
        raise VerificationError("tdx.collateral_signature_invalid", f"{what} signature does not verify")


def verify_signed_json(
    raw: bytes, signature: bytes, issuer_chain: bytes, at: datetime, trust: IntelTrustStore = INTEL_TRUST
) -> None:
    """Steps 1 and 4 for one TCB info / QE identity document (its dates are the caller's step 5)."""
    signer, _, _ = _chain(issuer_chain, "issuer chain", trust, require_aware(at))
    _signed_json(raw, signature, signer, "collateral JSON")


def verify_crl(
    der: bytes, issuer_chain: bytes, at: datetime, trust: IntelTrustStore = INTEL_TRUST, *, root: bool = False
) -> frozenset[int]:
    """Steps 1-2 for one CRL: signed by the chain's signer (or, with ``root``, by its root)."""
    at = require_aware(at)
    signer, _, _ = _chain(issuer_chain, "CRL issuer chain", trust, at)
    issuer = load_pem_bundle(issuer_chain, code=_MALFORMED)[1] if root else signer
    return _crl(der, issuer, "root CA CRL" if root else "PCK CRL", at)[0]


def verify_collateral(
    bundle: CollateralBundle, at: datetime, trust: IntelTrustStore = INTEL_TRUST
) -> VerifiedCollateral:
    """Verify ``bundle`` at ``at`` (timezone-aware) against ``trust``; see the module docstring."""
    at = require_aware(at)
    tcb_signer, root_fp, sim1 = _chain(bundle.tcb_info_issuer_chain, "TCB info issuer chain", trust, at)
    qe_signer, root_fp2, sim2 = _chain(bundle.qe_identity_issuer_chain, "QE identity issuer chain", trust, at)
    pck_ca, root_fp3, sim3 = _chain(bundle.pck_crl_issuer_chain, "PCK CRL issuer chain", trust, at)
    if len({root_fp, root_fp2, root_fp3}) != 1:
        raise VerificationError(_CHAIN, "the issuer chains end in different roots")
    root = load_pem_bundle(bundle.tcb_info_issuer_chain, code=_MALFORMED)[1]
    root_revoked, root_next = _crl(bundle.root_ca_crl, root, "root CA CRL", at)
    pck_revoked, pck_next = _crl(bundle.pck_crl, pck_ca, "PCK CRL", at)
    for role, cert in (
        ("TCB info signer", tcb_signer),
        ("QE identity signer", qe_signer),
        ("PCK CA", pck_ca),
    ):
        if cert.serial_number in root_revoked:
            raise VerificationError(
                "tdx.collateral_revoked", f"{role} serial {cert.serial_number:x} is revoked"
            )
    tcb, qe = bundle.tcb_info, bundle.qe_identity
    _signed_json(tcb.raw, tcb.signature, tcb_signer, "TCB info")
    _signed_json(qe.raw, qe.signature, qe_signer, "QE identity")
    for what, start, end in (
        ("TCB info", tcb.tcb_info.issue_date, tcb.tcb_info.next_update),
        ("QE identity", qe.qe_identity.issue_date, qe.qe_identity.next_update),
    ):
        if not start <= at < end:
            raise _expired(what, start, end, at)
    valid_until = min(
        tcb.tcb_info.next_update,
        qe.qe_identity.next_update,
        root_next,
        pck_next,
        *(c.not_valid_after_utc for c in (tcb_signer, qe_signer, pck_ca, root)),
    )
    return VerifiedCollateral(
        tcb_info=tcb.tcb_info,
        qe_identity=qe.qe_identity,
        pck_crl_issuer=pck_ca.subject.public_bytes(),
        pck_crl_revoked=pck_revoked,
        root_crl_revoked=root_revoked,
        root_sha256=root_fp,
        simulated=sim1 or sim2 or sim3,
        verified_at=at,
        valid_until=valid_until,
    )
