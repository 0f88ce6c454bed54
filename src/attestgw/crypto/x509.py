"""X.509 certificates and CRLs for vendor attestation chains (AMD SEV-SNP first).

What this module guarantees:

* :func:`load_certificate`, :func:`load_pem_bundle` and :func:`load_crl` never let a parser
  exception escape: malformed input becomes a :class:`~attestgw.errors.VerificationError` with a
  stable code (``snp.cert_malformed`` / ``snp.crl_invalid`` unless the caller names another).
* :func:`verify_signed_by` and its DER variants accept an RSA signature **only** as RSASSA-PSS
  with SHA-384, MGF1-SHA-384 and a 48-byte salt (the AMD ARK/ASK/ASVK/VCEK/VLEK/CRL scheme, formats.md §2.5):
  the parameters the certificate *declares* (outer and TBS AlgorithmIdentifier, which must be
  byte-identical) are read from its DER and must be exactly those, and the signature is then
  checked with those fixed parameters, never with whatever the certificate asks for. ECDSA
  (SHA-256/384/512) is accepted for generic use. Anything else is refused.
* Signatures are checked over the exact DER bytes received (:func:`signed_layout` slices the TBS out
  of them), not over a re-encoding.

AMD quirk, handled on purpose: VCEK and VLEK certificates carry serial number 0, which RFC 5280
forbids. ``cryptography`` still parses them but emits a ``CryptographyDeprecationWarning`` (on load
and again whenever ``serial_number`` is read) and says a future release may refuse them. We
suppress exactly that warning category around those two operations — every other warning still
shows — and, should a future ``cryptography`` refuse the certificate, the load error says why.
``warnings.catch_warnings`` swaps process-global filter state, so concurrent threads may briefly
see the suppression too; it never hides an error, only that warning.

Not checked here: validity periods, names, extensions, revocation, key sizes — that is the
verifier's job (``attestgw.verify``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import warnings
from typing import Final, NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from attestgw.errors import VerificationError

__all__ = [
    "SignedLayout",
    "cert_sha256",
    "certificate_serial",
    "der_bytes",
    "der_tlv",
    "load_certificate",
    "load_crl",
    "load_pem_bundle",
    "looks_like_der",
    "p384_public_key",
    "pem_certificates",
    "signed_layout",
    "verify_der_signed_by",
    "verify_layout_signed_by",
    "verify_signed_by",
]

_MAX_INPUT = 1024 * 1024  # AMD certificates are ~1.3 KiB, chains ~5 KiB, CRLs ~1 KiB
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"

# DER contents of the OIDs we compare against.
_OID_RSASSA_PSS: Final = bytes.fromhex("2a864886f70d01010a")  # 1.2.840.113549.1.1.10
_OID_MGF1: Final = bytes.fromhex("2a864886f70d010108")  # 1.2.840.113549.1.1.8
_OID_SHA384: Final = bytes.fromhex("608648016503040202")  # 2.16.840.1.101.3.4.2.2
_AMD_SALT: Final = 48
_AMD_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=_AMD_SALT)

# ecdsa-with-SHA256/384/512 AlgorithmIdentifiers (RFC 5758 §3.2: parameters absent).
_ECDSA_ALGS: Final[dict[bytes, hashes.HashAlgorithm]] = {
    bytes.fromhex("300a06082a8648ce3d040302"): hashes.SHA256(),
    bytes.fromhex("300a06082a8648ce3d040303"): hashes.SHA384(),
    bytes.fromhex("300a06082a8648ce3d040304"): hashes.SHA512(),
}


def der_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read one DER element at ``data[pos:end]``: return ``(tag, value_start, value_end)``.

    Bounded and strict: single-byte tags only, definite lengths of at most four bytes in minimal
    form, and the value must lie inside ``end``. Raises :class:`ValueError` otherwise; callers turn
    that into their own error code. Does not interpret the value.
    """
    if end > len(data) or pos + 2 > end:
        raise ValueError("DER element truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("DER high-tag-number form is not used here")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("DER indefinite or oversized length")
        if pos + count > end:
            raise ValueError("DER length truncated")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise ValueError("DER length not minimally encoded")
        pos += count
    if length > end - pos:
        raise ValueError("DER value runs past its container")
    return tag, pos, pos + length


class _El(NamedTuple):
    """One DER element: its tag, where its header starts, and where its value starts and ends."""

    tag: int
    start: int
    vs: int
    ve: int


def _children(data: bytes, start: int, end: int, limit: int = 16) -> list[_El]:
    """The elements of a constructed value, reading at most ``limit`` of them."""
    out: list[_El] = []
    pos = start
    while pos < end and len(out) < limit:
        tag, vs, ve = der_tlv(data, pos, end)
        out.append(_El(tag, pos, vs, ve))
        pos = ve
    return out


def _short_tlv(tag: int, content: bytes) -> bytes:
    if len(content) >= 0x80:
        raise ValueError("short-form TLV only")
    return bytes((tag, len(content))) + content


def _amd_pss_encodings() -> frozenset[bytes]:
    """Every DER encoding of RSASSA-PSS { SHA-384, MGF1(SHA-384), salt 48 } (RFC 4055 §3.1).

    The freedom allowed: each hash AlgorithmIdentifier's parameters may be NULL or absent (RFC 4055
    §2.1; AMD uses NULL), and trailerField may be absent or an explicit 1 — DER says a DEFAULT value
    is omitted, but AMD's ARK and ASK encode it (the VCEKs do not), so both are accepted.
    """
    hashes_ = [_short_tlv(0x30, _short_tlv(0x06, _OID_SHA384) + tail) for tail in (b"", b"\x05\x00")]
    trailers = (b"", _short_tlv(0xA3, b"\x02\x01\x01"))
    out = set()
    for digest in hashes_:
        for mgf_digest in hashes_:
            for trailer in trailers:
                params = (
                    _short_tlv(0xA0, digest)
                    + _short_tlv(0xA1, _short_tlv(0x30, _short_tlv(0x06, _OID_MGF1) + mgf_digest))
                    + _short_tlv(0xA2, bytes((0x02, 0x01, _AMD_SALT)))
                    + trailer
                )
                out.add(_short_tlv(0x30, _short_tlv(0x06, _OID_RSASSA_PSS) + _short_tlv(0x30, params)))
    return frozenset(out)


#: The only RSA signature AlgorithmIdentifiers accepted; anything else (other hash, salt, MGF,
#: defaults left implicit) is refused by byte comparison.
_AMD_PSS_ALGS: Final = _amd_pss_encodings()


class SignedLayout(NamedTuple):
    """Slices of a DER certificate or CRL: what is signed, how, and the fields read without a parser.

    All values are exact sub-slices of the input DER. ``serial`` is the serial INTEGER's content
    octets and ``extensions`` the DER ``SEQUENCE OF Extension`` (empty if none); both, like
    ``subject``, are empty for a CRL.
    """

    tbs: bytes
    tbs_alg: bytes
    outer_alg: bytes
    signature: bytes
    issuer: bytes
    subject: bytes
    serial: bytes
    extensions: bytes


def signed_layout(der: bytes, *, crl: bool = False) -> SignedLayout:
    """Split a DER Certificate (RFC 5280 §4.1) or CertificateList (§5.1). Raises ValueError.

    Only the outer structure and the TBS field boundaries are read; field contents are left to
    ``cryptography`` (which the callers also run over the same bytes).
    """
    top = _children(der, 0, len(der), 2)
    if len(top) != 1 or top[0].tag != 0x30:
        raise ValueError("not a single DER SEQUENCE")
    parts = _children(der, top[0].vs, top[0].ve, 4)
    if len(parts) != 3 or [p.tag for p in parts] != [0x30, 0x30, 0x03]:
        raise ValueError("not a signed X.509 structure")
    bits = der[parts[2].vs : parts[2].ve]
    if not bits or bits[0] != 0:
        raise ValueError("signature BIT STRING has unused bits")
    tbs = _children(der, parts[0].vs, parts[0].ve, 12)
    serial = extensions = subject = b""
    # CertificateList TBS: version (optional INTEGER), signature, issuer, thisUpdate…
    # Certificate TBS: [0] version, serial, signature, issuer, validity, subject, spki, [1], [2], [3].
    if crl:
        index = 1 if tbs and tbs[0].tag == 0x02 else 0
    else:
        index = 2 if tbs and tbs[0].tag == 0xA0 else 1
        if len(tbs) < index + 5 or tbs[index - 1].tag != 0x02 or tbs[index + 3].tag != 0x30:
            raise ValueError("certificate TBS lacks its serial or subject")
        serial = der[tbs[index - 1].vs : tbs[index - 1].ve]
        subject = der[tbs[index + 3].start : tbs[index + 3].ve]
        wrapped = [el for el in tbs[index + 5 :] if el.tag == 0xA3]
        if wrapped:
            inner = _children(der, wrapped[0].vs, wrapped[0].ve, 2)
            if len(inner) != 1 or inner[0].tag != 0x30 or inner[0].ve != wrapped[0].ve:
                raise ValueError("extensions are not one SEQUENCE")
            extensions = der[inner[0].start : inner[0].ve]
    if len(tbs) <= index + 1 or tbs[index].tag != 0x30 or tbs[index + 1].tag != 0x30:
        raise ValueError("TBS lacks its signature algorithm or issuer")
    return SignedLayout(
        tbs=der[parts[0].start : parts[0].ve],
        tbs_alg=der[tbs[index].start : tbs[index].ve],
        outer_alg=der[parts[1].start : parts[1].ve],
        signature=bits[1:],
        issuer=der[tbs[index + 1].start : tbs[index + 1].ve],
        subject=subject,
        serial=serial,
        extensions=extensions,
    )


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _too_large(data: bytes, code: str, what: str) -> None:
    if len(data) > _MAX_INPUT:
        raise VerificationError(code, f"{what} input is {len(data)} bytes, refusing (too large)")


def looks_like_der(data: bytes) -> bool:
    """DER certificates and CRLs start with a SEQUENCE tag; anything else is taken as PEM text
    (which may carry comment lines before its BEGIN line, as published CA files often do)."""
    return data[:1] == b"\x30"


def pem_certificates(data: bytes, *, code: str = "snp.cert_malformed") -> list[bytes]:
    """The DER of every ``CERTIFICATE`` block in PEM text (other block types are ignored)."""
    data = bytes(data)
    _too_large(data, code, "PEM")
    out: list[bytes] = []
    pos = data.find(_PEM_BEGIN)
    while pos >= 0:
        end = data.find(_PEM_END, pos)
        if end < 0:
            raise VerificationError(code, "PEM CERTIFICATE block has no END line")
        body = b"".join(data[pos + len(_PEM_BEGIN) : end].split())
        try:
            out.append(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            raise VerificationError(code, "PEM certificate block is not valid base64") from None
        pos = data.find(_PEM_BEGIN, end)
    if not out:
        raise VerificationError(code, "no PEM CERTIFICATE block found")
    return out


def load_certificate(data: bytes, *, code: str = "snp.cert_malformed") -> x509.Certificate:
    """Parse one X.509 certificate, DER or PEM. Raises ``VerificationError(code)`` on any failure.

    A PEM input must hold exactly one certificate (pass chains to :func:`load_pem_bundle`).
    """
    data = bytes(data)
    _too_large(data, code, "certificate")
    if not looks_like_der(data):
        ders = pem_certificates(data, code=code)
        if len(ders) != 1:
            raise VerificationError(
                code, f"PEM holds {len(ders)} certificates, want exactly 1 (pass the rest as a chain)"
            )
        data = ders[0]
    try:
        with warnings.catch_warnings():
            # AMD VCEK/VLEK serial 0: see the module docstring. Only this category is silenced.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(data)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        raise VerificationError(
            code,
            f"unreadable certificate ({_why(exc)}); note AMD VCEK/VLEK certificates use serial 0, "
            "which newer cryptography releases may refuse",
        ) from None


def load_pem_bundle(data: bytes, *, code: str = "snp.cert_malformed") -> list[x509.Certificate]:
    """Parse every certificate of a PEM bundle (at least one). Raises ``VerificationError(code)``."""
    return [load_certificate(der, code=code) for der in pem_certificates(data, code=code)]


def load_crl(data: bytes, *, code: str = "snp.crl_invalid") -> x509.CertificateRevocationList:
    """Parse a CRL, DER or PEM. Raises ``VerificationError(code)`` on any failure."""
    data = bytes(data)
    _too_large(data, code, "CRL")
    try:
        if not looks_like_der(data):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        raise VerificationError(code, f"unreadable CRL ({_why(exc)})") from None


def certificate_serial(cert: x509.Certificate) -> int:
    """The serial number, read without the serial-0 deprecation warning (AMD VCEK/VLEK use 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return cert.serial_number


def der_bytes(obj: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    """The DER encoding of a parsed certificate or CRL."""
    return obj.public_bytes(serialization.Encoding.DER)


def cert_sha256(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER (the fingerprint trust pins use)."""
    return hashlib.sha256(der_bytes(cert)).hexdigest()


def verify_layout_signed_by(
    layout: SignedLayout, issuer: x509.Certificate, *, allow_ecdsa: bool = True
) -> bool:
    """Whether ``issuer``'s key signed the certificate or CRL that ``layout`` was split from.

    RSA issuer: both signature AlgorithmIdentifiers must be byte-identical and declare
    RSASSA-PSS/SHA-384/MGF1-SHA-384/salt 48, and the signature must verify with exactly those
    parameters. EC issuer (unless ``allow_ecdsa`` is False, as for AMD chains): ECDSA with
    SHA-256/384/512 as declared. Anything else is False; this never raises. Names, validity and
    key usage are **not** checked here.
    """
    if layout.tbs_alg != layout.outer_alg:
        return False
    try:
        key = issuer.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if layout.outer_alg not in _AMD_PSS_ALGS:
                return False
            key.verify(layout.signature, layout.tbs, _AMD_PSS, hashes.SHA384())
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and allow_ecdsa:
            digest = _ECDSA_ALGS.get(layout.outer_alg)
            if digest is None:
                return False
            key.verify(layout.signature, layout.tbs, ec.ECDSA(digest))
            return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return False


def verify_der_signed_by(
    subject_der: bytes, issuer: x509.Certificate, *, crl: bool = False, allow_ecdsa: bool = True
) -> bool:
    """:func:`verify_layout_signed_by` over the exact DER of a certificate (or, with ``crl``, CRL)."""
    try:
        layout = signed_layout(bytes(subject_der), crl=crl)
    except ValueError:
        return False
    return verify_layout_signed_by(layout, issuer, allow_ecdsa=allow_ecdsa)


def verify_signed_by(
    subject: x509.Certificate | x509.CertificateRevocationList, issuer: x509.Certificate
) -> bool:
    """:func:`verify_der_signed_by` for a parsed certificate or CRL (re-encodes it to DER first)."""
    return verify_der_signed_by(
        der_bytes(subject), issuer, crl=isinstance(subject, x509.CertificateRevocationList)
    )


def p384_public_key(cert: x509.Certificate, *, code: str = "snp.cert_malformed") -> ec.EllipticCurvePublicKey:
    """The certificate's public key if it is EC P-384; ``VerificationError(code)`` otherwise."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VerificationError(code, f"unreadable public key ({_why(exc)})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise VerificationError(code, f"public key is {type(key).__name__}, want EC P-384")
    return key
