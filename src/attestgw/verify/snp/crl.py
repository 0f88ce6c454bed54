"""The AMD CRL for a product line (formats.md §2.5 "Collateral freshness", §2.6 step 5).

AMD publishes one CRL per product and key kind (``/vcek/v1/{product}/crl``, ``/vlek/v1/…/crl``),
signed by the ARK with RSASSA-PSS. It lists revoked ASK/ASVK serials; AMD does not revoke
individual VCEKs (a TCB bump supersedes them), but a listed leaf serial is refused all the same.

Checks, in order, each with its code: parseable, names the ARK as issuer, signed by the ARK
(``snp.crl_invalid``); ``thisUpdate ≤ at < nextUpdate`` (``snp.crl_stale``); no serial of the
chain listed (``snp.cert_revoked``). Parsing and the signature result are cached per exact bytes;
the time window and the serial look-up run every call.

Not checked: CRL extensions (AMD sets only authorityKeyIdentifier and cRLNumber), monotonic
cRLNumber across calls (there is no state here), and delta CRLs (AMD publishes none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from attestgw.crypto.x509 import (
    SignedLayout,
    der_bytes,
    load_crl,
    looks_like_der,
    signed_layout,
    verify_layout_signed_by,
)
from attestgw.errors import VerificationError
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.snp.chain import CertRecord, name_attributes

__all__ = ["CrlRecord", "check_crl", "load_crl_record"]

_CRLS: BoundedLru[bytes, CrlRecord] = BoundedLru(32)
_SIGNED_OK: BoundedLru[bytes, bool] = BoundedLru(64)
_MAX_REVOKED = 100_000  # AMD CRLs list a handful of entries; bound the set we build


@dataclass(frozen=True, slots=True)
class CrlRecord:
    """A parsed CRL with the facts the verifier needs, computed once per exact input bytes."""

    der: bytes
    layout: SignedLayout
    crl: x509.CertificateRevocationList
    issuer_der: bytes
    this_update: datetime
    next_update: datetime | None
    revoked: frozenset[int]


def load_crl_record(data: bytes) -> CrlRecord:
    """Parse a CRL (DER or PEM) once per exact input bytes. ``snp.crl_invalid`` if unreadable."""
    data = bytes(data)
    record = _CRLS.get(data)
    if record is not None:
        return record
    crl = load_crl(data)
    try:
        der = data if looks_like_der(data) else der_bytes(crl)
        layout = signed_layout(der, crl=True)
        revoked: set[int] = set()
        for entry in crl:
            if len(revoked) >= _MAX_REVOKED:
                raise ValueError(f"more than {_MAX_REVOKED} revoked entries")
            revoked.add(entry.serial_number)
        record = CrlRecord(
            der=der,
            layout=layout,
            crl=crl,
            issuer_der=layout.issuer,
            this_update=crl.last_update_utc,
            next_update=crl.next_update_utc,
            revoked=frozenset(revoked),
        )
    except ValueError as exc:
        raise VerificationError("snp.crl_invalid", f"CRL field unreadable: {exc}") from None
    _CRLS.put(data, record)
    return record


def _issuer_cn(crl: CrlRecord) -> str:
    """The issuer CN for messages, read without ``cryptography`` (which may warn or raise on odd names)."""
    try:
        values = name_attributes(crl.issuer_der).get(b"\x55\x04\x03", [])
    except ValueError:
        return "issuer name unreadable"
    return f"issuer CN {values[0]!r}" if len(values) == 1 else "issuer has no single CN"


def check_crl(crl: CrlRecord, ark: CertRecord, serials: dict[str, int], at: datetime) -> None:
    """Apply the CRL to the chain. ``serials`` maps a role ("ASK", "VCEK", …) to its serial."""
    if crl.issuer_der != ark.subject_der:
        raise VerificationError("snp.crl_invalid", f"CRL issuer is not {ark.cn} ({_issuer_cn(crl)})")
    key = digest_key(ark.der, crl.der)
    if not _SIGNED_OK.get(key):
        if not verify_layout_signed_by(crl.layout, ark.cert, allow_ecdsa=False):
            raise VerificationError(
                "snp.crl_invalid",
                f"CRL signature does not verify with {ark.cn} (RSASSA-PSS SHA-384, salt 48)",
            )
        _SIGNED_OK.put(key, True)
    if crl.next_update is None:
        raise VerificationError("snp.crl_invalid", "CRL has no nextUpdate, so its freshness is unknown")
    if not crl.this_update <= at < crl.next_update:
        raise VerificationError(
            "snp.crl_stale",
            f"CRL is valid {crl.this_update.isoformat()} .. {crl.next_update.isoformat()}, "
            f"not at {at.isoformat()}",
        )
    for role, serial in serials.items():
        if serial in crl.revoked:
            raise VerificationError(
                "snp.cert_revoked", f"{role} serial {serial:#x} is listed in the {ark.cn} CRL"
            )
