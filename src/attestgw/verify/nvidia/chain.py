"""NVIDIA certificate chains (device identity and RIM signer), leaf first (formats.md §4.4, §4.6).

:func:`check_chain` verifies what depends only on the bytes, and caches it per exact bytes (see
:mod:`attestgw.verify.cache`): 2..``max_len`` certificates; each one's issuer name is the next one's
subject and its ECDSA signature verifies with the next one's key; the last is self-signed; every
certificate but the leaf is a CA (BasicConstraints cA); the leaf is not a CA and its key is EC
P-384. Failures are the caller's ``code`` (``nvidia.chain_invalid`` or ``nvidia.rim_chain_invalid``).

:func:`check_validity` (validity at a time) and the root pin run on every call. Not checked here:
the pin itself, revocation (:mod:`.ocsp`), the leaf's FWID (:mod:`.fwid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from attestgw.crypto.ecdsa import P384PublicKey
from attestgw.crypto.x509 import (
    cert_sha256,
    der_bytes,
    load_certificate,
    p384_public_key,
    verify_der_signed_by,
)
from attestgw.errors import VerificationError
from attestgw.verify.cache import BoundedLru, digest_key

__all__ = ["CheckedChain", "check_chain", "check_validity", "common_name"]

_CHAINS: BoundedLru[bytes, CheckedChain] = BoundedLru(512)


@dataclass(frozen=True, slots=True)
class CheckedChain:
    """A chain whose names, signatures and CA flags were checked (not yet its pin or dates)."""

    certs: tuple[x509.Certificate, ...]
    ders: tuple[bytes, ...]
    leaf_key: P384PublicKey
    root_sha256: str
    leaf_sha256: str

    @property
    def leaf(self) -> x509.Certificate:
        return self.certs[0]


def common_name(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check(ders: tuple[bytes, ...], code: str, max_len: int) -> CheckedChain:
    if not 2 <= len(ders) <= max_len:
        raise VerificationError(
            code, f"chain holds {len(ders)} certificates, want leaf .. root (2..{max_len})"
        )
    certs = tuple(load_certificate(der, code=code) for der in ders)
    for i, cert in enumerate(certs):
        issuer = certs[i + 1] if i + 1 < len(certs) else cert
        if cert.issuer != issuer.subject or not verify_der_signed_by(ders[i], issuer):
            what = (
                "root is not self-signed"
                if issuer is cert
                else f"certificate {i} is not signed by certificate {i + 1}"
            )
            raise VerificationError(code, f"{what} ({common_name(cert)!r})")
        if i > 0 and not _is_ca(cert):
            raise VerificationError(code, f"certificate {i} ({common_name(cert)!r}) is not a CA")
    if _is_ca(certs[0]):
        raise VerificationError(
            code, f"the leaf ({common_name(certs[0])!r}) is a CA certificate, not a signer"
        )
    return CheckedChain(
        certs=certs,
        ders=ders,
        leaf_key=p384_public_key(certs[0], code=code),
        root_sha256=cert_sha256(certs[-1]),
        leaf_sha256=cert_sha256(certs[0]),
    )


def check_chain(ders: Sequence[bytes], *, code: str, max_len: int = 5) -> CheckedChain:
    """Check a leaf-first chain of DER certificates (see the module docstring); cached per bytes."""
    items = tuple(bytes(d) for d in ders)
    key = digest_key(code.encode(), bytes((max_len,)), *items)
    cached = _CHAINS.get(key)
    if cached is None:
        cached = _check(items, code, max_len)
        _CHAINS.put(key, cached)
    return cached


def check_validity(chain: CheckedChain, at: datetime, code: str) -> datetime:
    """Every certificate is valid at ``at`` (inclusive), else ``code``; returns the earliest notAfter."""
    for cert in chain.certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if not start <= at <= end:
            raise VerificationError(
                code,
                f"{common_name(cert)!r} is valid {start.isoformat()} .. {end.isoformat()}, "
                f"not at {at.isoformat()}",
            )
    return min(cert.not_valid_after_utc for cert in chain.certs)


def chain_ders(certs: Sequence[x509.Certificate]) -> tuple[bytes, ...]:
    return tuple(der_bytes(c) for c in certs)
