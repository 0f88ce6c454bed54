"""Reuse a verified collateral bundle while the verification time stays inside its window.

:func:`~attestgw.verify.tdx.verify_collateral` is a pure function of ``(bundle, at, trust)``, and
``at`` enters it only through window checks (certificate validity, CRL thisUpdate/nextUpdate,
issueDate/nextUpdate). So once a bundle verified, the same bundle verifies — with the same result
except ``verified_at`` — at any ``at`` inside the intersection of those windows. This module
records that intersection, ``[valid_from, valid_until)``, per exact bundle bytes and trust store.

An ``at`` outside the window, another trust store or any changed byte misses the cache and runs the
full verification (which raises the precise error). The upper bound is exclusive here even where
a certificate's ``notAfter`` is inclusive: reuse is at most more conservative, never less.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from attestgw.crypto.x509 import load_crl, load_pem_bundle
from attestgw.evidence.tdx_collateral import CollateralBundle
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.tdx.collateral import VerifiedCollateral, verify_collateral
from attestgw.verify.tdx.trust import IntelTrustStore

__all__ = ["bundle_key", "verified_collateral"]


@dataclass(frozen=True, slots=True)
class _Entry:
    verified: VerifiedCollateral
    valid_from: datetime


_VERIFIED: BoundedLru[tuple[bytes, IntelTrustStore], _Entry] = BoundedLru(64)


def bundle_key(bundle: CollateralBundle) -> bytes:
    """A digest over every byte of ``bundle`` that verification reads."""
    return digest_key(
        bundle.pck_crl_issuer_chain,
        bundle.root_ca_crl,
        bundle.pck_crl,
        bundle.tcb_info_issuer_chain,
        bundle.tcb_info.raw,
        bundle.tcb_info.signature,
        bundle.qe_identity_issuer_chain,
        bundle.qe_identity.raw,
        bundle.qe_identity.signature,
    )


def _valid_from(bundle: CollateralBundle) -> datetime:
    """The latest start of every window verify_collateral checks (the bundle already verified)."""
    starts = [bundle.tcb_info.tcb_info.issue_date, bundle.qe_identity.qe_identity.issue_date]
    for chain in (bundle.tcb_info_issuer_chain, bundle.qe_identity_issuer_chain, bundle.pck_crl_issuer_chain):
        starts += [c.not_valid_before_utc for c in load_pem_bundle(chain, code="tdx.collateral_malformed")]
    for crl in (bundle.root_ca_crl, bundle.pck_crl):
        starts.append(load_crl(crl, code="tdx.crl_invalid").last_update_utc)
    return max(starts)


def verified_collateral(bundle: CollateralBundle, at: datetime, trust: IntelTrustStore) -> VerifiedCollateral:
    """``verify_collateral(bundle, at, trust)``, reusing an earlier result inside its window."""
    key = (bundle_key(bundle), trust)
    entry = _VERIFIED.get(key)
    if entry is not None and entry.valid_from <= at < entry.verified.valid_until:
        return replace(entry.verified, verified_at=at)
    verified = verify_collateral(bundle, at, trust)
    _VERIFIED.put(key, _Entry(verified, _valid_from(bundle)))
    return verified
