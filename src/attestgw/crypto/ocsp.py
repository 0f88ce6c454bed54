"""OCSP (RFC 6960) for vendor certificate chains: parse a response, check its signature, build requests.

The only code outside :mod:`attestgw.crypto` that needs ``cryptography.hazmat`` for OCSP goes through
here. :func:`load_ocsp_response` never lets a parser exception escape (``VerificationError``, code
``nvidia.ocsp_invalid`` unless the caller names another). :func:`ocsp_signed_by` answers whether a
certificate's key made the response signature over the exact ``tbsResponseData`` bytes (ECDSA
SHA-256/384/512 or RSA PKCS#1 v1.5 — the schemes OCSP responders use); it never raises.
:func:`build_ocsp_request` and :func:`build_ocsp_response` exist for the collateral fetcher and the
simulated GPU PKI.

Not checked here: which certificate *should* have signed (responder authorization), CertID
matching, freshness or status — that is ``attestgw.verify.nvidia.ocsp``'s job.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from attestgw.crypto.signing import SigningPrivateKey
from attestgw.errors import VerificationError

__all__ = [
    "build_ocsp_request",
    "build_ocsp_response",
    "load_ocsp_response",
    "ocsp_names_certificate",
    "ocsp_signed_by",
]

_MAX_RESPONSE = 64 * 1024
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def load_ocsp_response(data: bytes, *, code: str = "nvidia.ocsp_invalid") -> ocsp.OCSPResponse:
    """Parse a DER OCSPResponse (any status). Raises ``VerificationError(code)`` when unreadable."""
    data = bytes(data)
    if len(data) > _MAX_RESPONSE:
        raise VerificationError(code, f"OCSP response is {len(data)} bytes, at most {_MAX_RESPONSE}")
    try:
        return ocsp.load_der_ocsp_response(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise VerificationError(code, f"unreadable OCSP response ({str(exc)[:120]})") from None


def ocsp_signed_by(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    """Whether ``signer``'s key signed this (successful) response's ``tbsResponseData``."""
    try:
        digest = response.signature_hash_algorithm
        if digest is None or digest.name not in _HASHES:
            return False
        key = signer.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(_HASHES[digest.name]))
            return True
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(
                response.signature, response.tbs_response_bytes, padding.PKCS1v15(), _HASHES[digest.name]
            )
            return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return False


def ocsp_names_certificate(
    single: ocsp.OCSPSingleResponse, cert: x509.Certificate, issuer: x509.Certificate
) -> bool:
    """Whether a single response's CertID (issuer name hash, issuer key hash, serial, with the hash the
    response chose among SHA-1/256/384/512) names ``cert`` as issued by ``issuer``."""
    algorithm = single.hash_algorithm
    if algorithm.name not in (*_HASHES, "sha1"):
        return False
    try:
        expected = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm).build()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return (
        single.serial_number == expected.serial_number
        and single.issuer_name_hash == expected.issuer_name_hash
        and single.issuer_key_hash == expected.issuer_key_hash
    )


def build_ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, *, digest: str = "sha384") -> bytes:
    """A DER OCSPRequest for ``cert`` (CertID hashed with ``digest``; no nonce, so it can be cached)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, _HASHES[digest])
    return builder.build().public_bytes(serialization.Encoding.DER)


def build_ocsp_response(
    *,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    responder_cert: x509.Certificate,
    responder_key: SigningPrivateKey,
    this_update: datetime,
    next_update: datetime | None,
    revoked_at: datetime | None = None,
    reason: x509.ReasonFlags | None = None,
    unknown: bool = False,
    include_responder_cert: bool = False,
) -> bytes:
    """A signed, successful DER OCSPResponse for ``cert`` (SHA-384 CertID, ECDSA-SHA384 signature)."""
    if unknown:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif revoked_at is not None:
        status = ocsp.OCSPCertStatus.REVOKED
    else:
        status = ocsp.OCSPCertStatus.GOOD
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=hashes.SHA384(),
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=revoked_at,
        revocation_reason=reason if revoked_at is not None else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
    if include_responder_cert:
        builder = builder.certificates([responder_cert])
    response = builder.sign(responder_key, hashes.SHA384())
    return response.public_bytes(serialization.Encoding.DER)
