"""Key generation, ECDSA P-384 / P-256 signatures, and vendor-shaped X.509 certificates and CRLs.

This module *creates* keys, signatures and certificates; it exists for the simulated attester and for
tests, which need a whole AMD-like PKI (formats.md §2.5). It does not decide whether anything is
trustworthy: verifying a chain is ``attestgw.verify``'s job.

Contract:

* RSA issuers sign with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt length 48 — AMD's scheme for the
  ARK, ASK/ASVK, VCEK/VLEK and CRLs. EC issuers sign with ECDSA over SHA-384 by default, or over
  SHA-256 with ``digest="sha256"`` (Intel's SGX/TDX PKI, formats.md §3.5).
* P-256 raw signatures (:func:`sign_p256_sha256_raw`) are 64 bytes ``r‖s`` big-endian, the encoding
  Intel DCAP uses for quotes, QE reports and collateral JSON (formats.md §3.3, §3.6).
* Certificates are X.509 v3. Arbitrary extensions are added as non-critical
  :class:`~cryptography.x509.UnrecognizedExtension` values: the caller supplies the *DER encoding of
  the extension value* (the bytes that go inside the extnValue OCTET STRING), unchecked.
* Serial numbers must be positive. AMD issues VCEKs/VLEKs with serial 0, which RFC 5280 forbids and
  which ``cryptography``'s builder refuses (``ValueError``); this module does not work around that.
* Private keys are serialized as unencrypted PKCS#8 PEM. Protecting the file is the caller's job.

Not checked here: that names, validity or extensions make sense together, that an issuer certificate
belongs to the issuer key, or key sizes beyond what the library enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from attestgw.clock import require_aware

__all__ = [
    "P256PrivateKey",
    "P384PrivateKey",
    "P384PublicKey",
    "RsaPrivateKey",
    "SigningPrivateKey",
    "SigningPublicKey",
    "build_certificate",
    "build_crl",
    "build_name",
    "certificate_from_pem",
    "certificate_public_key",
    "certificate_to_pem",
    "generate_p256_key",
    "generate_p384_key",
    "generate_rsa_key",
    "key_matches_certificate",
    "p256_public_raw",
    "p384_key_from_pem",
    "pem_bundle",
    "private_key_to_pem",
    "rsa_key_from_pem",
    "sign_p256_sha256_raw",
    "sign_p384_sha384",
    "split_pem_bundle",
]

P384PrivateKey = ec.EllipticCurvePrivateKey
P256PrivateKey = ec.EllipticCurvePrivateKey
P384PublicKey = ec.EllipticCurvePublicKey
RsaPrivateKey = rsa.RSAPrivateKey
SigningPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
SigningPublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

#: AMD's certificate and CRL signature scheme (formats.md §2.5): PSS, SHA-384, MGF1-SHA-384, salt 48.
_AMD_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)

_NAME_ATTRIBUTES = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
}

_DIGESTS: dict[str, type[hashes.SHA256] | type[hashes.SHA384]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")


def generate_p384_key() -> P384PrivateKey:
    """A fresh ECDSA P-384 private key (the curve of VCEKs, VLEKs and SNP report signatures)."""
    return ec.generate_private_key(ec.SECP384R1())


def generate_rsa_key(bits: int = 4096) -> RsaPrivateKey:
    """A fresh RSA private key, public exponent 65537. AMD's ARK/ASK/ASVK are RSA-4096."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def sign_p384_sha384(key: P384PrivateKey, message: bytes) -> tuple[int, int]:
    """ECDSA P-384 over SHA-384 of ``message``; returns the integers ``(r, s)``.

    Encoding them (e.g. as the SNP report's 72-byte little-endian fields) is the caller's job.
    Raises ``ValueError`` if ``key`` is not on P-384.
    """
    if not isinstance(key.curve, ec.SECP384R1):
        raise ValueError(f"want a P-384 key, got {key.curve.name}")
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA384())))
    return r, s


def generate_p256_key() -> P256PrivateKey:
    """A fresh ECDSA P-256 private key (Intel's PCK, TCB Signing and attestation keys)."""
    return ec.generate_private_key(ec.SECP256R1())


def sign_p256_sha256_raw(key: P256PrivateKey, message: bytes) -> bytes:
    """ECDSA P-256 over SHA-256 of ``message`` as 64 bytes ``r‖s`` (big-endian, 32 bytes each).

    Raises ``ValueError`` if ``key`` is not on P-256.
    """
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"want a P-256 key, got {key.curve.name}")
    r, s = decode_dss_signature(key.sign(bytes(message), ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def p256_public_raw(key: P256PrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The P-256 public key as 64 bytes ``x‖y`` (uncompressed point without its 0x04 prefix)."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    if not isinstance(public.curve, ec.SECP256R1):
        raise ValueError(f"want a P-256 key, got {public.curve.name}")
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return point[1:]


def _digest(name: str) -> hashes.SHA256 | hashes.SHA384:
    if name not in _DIGESTS:
        raise ValueError(f"unknown digest {name!r}, want one of {sorted(_DIGESTS)}")
    return _DIGESTS[name]()


def build_name(attributes: Sequence[tuple[str, str]]) -> x509.Name:
    """An X.509 name from ``(short attribute, value)`` pairs, in the given order.

    Short attributes: CN, O, OU, L, ST, C. AMD orders them OU, C, L, ST, O, CN.
    """
    out: list[x509.NameAttribute[str]] = []
    for short, value in attributes:
        if short not in _NAME_ATTRIBUTES:
            raise ValueError(f"unknown name attribute {short!r}, want one of {sorted(_NAME_ATTRIBUTES)}")
        out.append(x509.NameAttribute(_NAME_ATTRIBUTES[short], value))
    return x509.Name(out)


def _issuer_digest(key: SigningPrivateKey, digest: str) -> hashes.SHA256 | hashes.SHA384:
    # AMD's PSS parameters fix SHA-384; only EC issuers may choose.
    return hashes.SHA384() if isinstance(key, rsa.RSAPrivateKey) else _digest(digest)


def _sign_params(key: SigningPrivateKey) -> padding.PSS | None:
    return _AMD_PSS if isinstance(key, rsa.RSAPrivateKey) else None


def build_certificate(
    *,
    subject: Sequence[tuple[str, str]],
    issuer: Sequence[tuple[str, str]],
    public_key: SigningPublicKey,
    issuer_key: SigningPrivateKey,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    path_length: int | None = None,
    crl_sign: bool = False,
    authority_key_id: bool = False,
    crl_distribution_url: str | None = None,
    extensions: Sequence[tuple[str, bytes]] = (),
    digest: str = "sha384",
) -> bytes:
    """Build and sign an X.509 v3 certificate; returns its DER.

    ``subject``/``issuer``: see :func:`build_name`. ``ca=True`` adds the extensions AMD's ARK/ASK
    carry: critical BasicConstraints (CA, ``path_length``), critical KeyUsage (keyCertSign, plus
    cRLSign when ``crl_sign``) and a SubjectKeyIdentifier. ``authority_key_id`` adds an
    AuthorityKeyIdentifier of the issuer key; ``crl_distribution_url`` one CRL distribution point.
    ``extensions``: ``(dotted OID, DER of the extension value)`` pairs, added non-critical in order.
    ``digest``: ``"sha384"`` (default) or ``"sha256"`` for EC issuers; RSA issuers always use
    AMD's PSS/SHA-384.

    Raises ``ValueError`` for a non-positive serial (see the module docstring), naive datetimes or an
    unknown name attribute.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(build_name(subject))
        .issuer_name(build_name(issuer))
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(require_aware(not_before))
        .not_valid_after(require_aware(not_after))
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=path_length), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=crl_sign,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if crl_distribution_url is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_distribution_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    for oid, value in extensions:
        ext = x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value)
        builder = builder.add_extension(ext, critical=False)
    cert = builder.sign(issuer_key, _issuer_digest(issuer_key, digest), rsa_padding=_sign_params(issuer_key))
    return cert.public_bytes(serialization.Encoding.DER)


def build_crl(
    issuer_cert: bytes,
    issuer_key: SigningPrivateKey,
    revoked_serials: Iterable[int],
    this_update: datetime,
    next_update: datetime,
    *,
    crl_number: int = 1,
    revocation_date: datetime | None = None,
    digest: str = "sha384",
) -> bytes:
    """Build and sign a v2 CRL (DER) issued by ``issuer_cert`` (DER or PEM) with ``issuer_key``.

    Like AMD's CRLs it carries an AuthorityKeyIdentifier and a CRL number; each serial is listed
    with ``revocation_date`` (default ``this_update``). ``digest`` as for :func:`build_certificate`.
    Not checked: that ``issuer_key`` belongs to ``issuer_cert``.
    """
    issuer = _load_certificate(issuer_cert)
    this_update = require_aware(this_update)
    when = require_aware(revocation_date) if revocation_date is not None else this_update
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(require_aware(next_update))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .add_extension(x509.CRLNumber(crl_number), critical=False)
    )
    for serial in revoked_serials:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(issuer_key, _issuer_digest(issuer_key, digest), rsa_padding=_sign_params(issuer_key))
    return crl.public_bytes(serialization.Encoding.DER)


def _load_certificate(data: bytes) -> x509.Certificate:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def certificate_public_key(cert: bytes) -> SigningPublicKey:
    """The RSA or EC public key of a certificate (DER or PEM); ``ValueError`` for other key types."""
    key = _load_certificate(cert).public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError(f"unsupported certificate key type {type(key).__name__}")
    return key


def key_matches_certificate(key: SigningPrivateKey, cert: bytes) -> bool:
    """Whether ``cert`` (DER or PEM) certifies the public half of ``key``."""
    return _load_certificate(cert).public_key() == key.public_key()


def certificate_to_pem(der: bytes) -> bytes:
    """PEM of a DER certificate (re-encoded by the library, so the DER must parse)."""
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def certificate_from_pem(pem: bytes) -> bytes:
    """DER of the single certificate in ``pem``."""
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def pem_bundle(ders: Iterable[bytes]) -> bytes:
    """Concatenated PEM of DER certificates, in the given order (AMD cert_chain: intermediate, ARK)."""
    return b"".join(certificate_to_pem(der) for der in ders)


def split_pem_bundle(pem: bytes) -> list[bytes]:
    """DER of every certificate in a PEM bundle, in order. Text between blocks is ignored."""
    return [certificate_from_pem(block) for block in _PEM_CERT.findall(pem)]


def private_key_to_pem(key: SigningPrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_private_key(pem: bytes) -> object:
    return serialization.load_pem_private_key(pem, password=None)


def p384_key_from_pem(pem: bytes) -> P384PrivateKey:
    """Load an unencrypted P-384 private key; ``ValueError`` if it is another type or curve."""
    key = _load_private_key(pem)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP384R1):
        raise ValueError("not a P-384 private key")
    return key


def rsa_key_from_pem(pem: bytes) -> RsaPrivateKey:
    """Load an unencrypted RSA private key; ``ValueError`` if it is another type."""
    key = _load_private_key(pem)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key
