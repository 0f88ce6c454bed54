"""The PCK certificate chain carried in a TDX quote (formats.md §3.5, §3.8 step 2).

:func:`load_pck_chain` turns the type-5 certification data (PEM: PCK leaf, PCK CA, root) into a
:class:`PckChain` and checks everything about it that does not depend on time or trust:

- exactly three certificates; the leaf's CN contains ``SGX PCK Certificate`` and the CA's
  ``SGX PCK Platform CA`` or ``SGX PCK Processor CA`` (Intel's names; simulated chains keep them);
- issuer names link leaf → CA → root, the root is self-signed, and each signature (ECDSA,
  SHA-256 for Intel) verifies with the next key up;
- the leaf key is EC P-256 and its SGX extension parses.

Any failure is ``tdx.pck_chain_invalid`` (``tdx.pck_extension_malformed`` for the extension).
These results are pure functions of the chain bytes, so they are cached per exact bytes (see
:mod:`attestgw.verify.cache` for the rules); :func:`check_pck_validity` — validity at a
time — and the pin and revocation checks (in the quote verifier) run on every call.

Not checked here: whether the root is pinned, revocation, and validity at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from attestgw.crypto.p256 import P256PublicKey, p256_public_key
from attestgw.crypto.x509 import cert_sha256, der_bytes, load_pem_bundle, verify_der_signed_by
from attestgw.errors import VerificationError
from attestgw.evidence.tdx_collateral import SgxExtension
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.tdx.pck import pck_sgx_extension

__all__ = ["PckChain", "check_pck_validity", "load_pck_chain"]

_CODE = "tdx.pck_chain_invalid"
_LEAF_CN = "SGX PCK Certificate"
_CA_CNS = ("SGX PCK Platform CA", "SGX PCK Processor CA")

# A few distinct platforms per gateway at most; each entry is three parsed certificates.
_CHAINS: BoundedLru[bytes, PckChain] = BoundedLru(256)


@dataclass(frozen=True, slots=True)
class PckChain:
    """A PCK chain whose structure and signatures were checked (not yet its pin, dates or CRLs)."""

    leaf: x509.Certificate
    ca: x509.Certificate
    root: x509.Certificate
    leaf_key: P256PublicKey
    extension: SgxExtension
    root_sha256: str
    leaf_sha256: str
    ca_kind: str  # "platform" or "processor"


def _cn(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _load(pem: bytes) -> PckChain:
    certs = load_pem_bundle(pem.rstrip(b"\x00"), code=_CODE)
    if len(certs) != 3:
        raise VerificationError(_CODE, f"PCK chain holds {len(certs)} certificates, want leaf, PCK CA, root")
    leaf, ca, root = certs
    if _LEAF_CN not in _cn(leaf):
        raise VerificationError(_CODE, f"leaf CN {_cn(leaf)!r}, want one naming {_LEAF_CN!r}")
    kinds = [name for name in _CA_CNS if name in _cn(ca)]
    if not kinds:
        raise VerificationError(_CODE, f"intermediate CN {_cn(ca)!r}, want a PCK Platform or Processor CA")
    if root.issuer != root.subject or not verify_der_signed_by(der_bytes(root), root):
        raise VerificationError(_CODE, "PCK chain root is not self-signed")
    if ca.issuer != root.subject or not verify_der_signed_by(der_bytes(ca), root):
        raise VerificationError(_CODE, "PCK CA is not issued and signed by the root")
    if leaf.issuer != ca.subject or not verify_der_signed_by(der_bytes(leaf), ca):
        raise VerificationError(_CODE, "PCK certificate is not issued and signed by the PCK CA")
    return PckChain(
        leaf=leaf,
        ca=ca,
        root=root,
        leaf_key=p256_public_key(leaf, code=_CODE),
        extension=pck_sgx_extension(leaf),
        root_sha256=cert_sha256(root),
        leaf_sha256=cert_sha256(leaf),
        ca_kind="processor" if "Processor" in kinds[0] else "platform",
    )


def load_pck_chain(pem: bytes) -> PckChain:
    """Parse and check a PCK chain (see the module docstring); cached per exact bytes."""
    key = digest_key(pem)
    cached = _CHAINS.get(key)
    if cached is None:
        cached = _load(pem)
        _CHAINS.put(key, cached)
    return cached


def check_pck_validity(chain: PckChain, at: datetime) -> None:
    """Every certificate of ``chain`` is valid at ``at`` (inclusive bounds), else ``tdx.cert_expired``."""
    for role, cert in (("PCK certificate", chain.leaf), ("PCK CA", chain.ca), ("root", chain.root)):
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if not start <= at <= end:
            raise VerificationError(
                "tdx.cert_expired",
                f"{role} is valid {start.isoformat()} .. {end.isoformat()}, not at {at.isoformat()}",
            )
