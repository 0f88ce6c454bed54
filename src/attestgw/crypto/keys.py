"""EC keys for signing attestation results (EAR JWTs): PEM in and out, curve names, JWK thumbprints.

Only NIST P-256 and P-384 are accepted, because those are the curves of the two JWS algorithms
attestgw signs EARs with (ES256, ES384; RFC 7518 §3.4). Anything else (RSA, Ed25519, other curves,
a certificate instead of a key) is refused with ``ConfigError("ear.key_invalid")`` at load time, so
a caller never discovers a wrong key type halfway through signing.

Not checked here: whether a public key belongs to a verifier the caller trusts (pinning is the
caller's job), and key storage (private keys are generated and kept outside the repository).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestgw.errors import ConfigError

__all__ = [
    "EcPrivateKey",
    "EcPublicKey",
    "ec_key_curve_name",
    "ec_public_jwk",
    "generate_ec_key",
    "generate_p256_key",
    "jwk_thumbprint",
    "load_ec_private_key_pem",
    "load_ec_public_key_pem",
    "private_key_to_pem",
    "public_key_to_pem",
]

#: Re-exported so that layers above ``crypto`` can annotate keys without importing hazmat.
EcPrivateKey: TypeAlias = ec.EllipticCurvePrivateKey
EcPublicKey: TypeAlias = ec.EllipticCurvePublicKey

# cryptography curve name -> JOSE "crv" name (RFC 7518 §6.2.1.1)
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}
_COORD_BYTES = {"P-256": 32, "P-384": 48}


def ec_key_curve_name(key: EcPrivateKey | EcPublicKey) -> str:
    """The JOSE curve name (``"P-256"`` or ``"P-384"``); refuses any other curve."""
    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise ConfigError("ear.key_invalid", f"got a {type(key).__name__}, want an EC P-256/P-384 key")
    name = _CURVES.get(key.curve.name)
    if name is None:
        raise ConfigError("ear.key_invalid", f"curve {key.curve.name}, want P-256 or P-384")
    return name


def load_ec_private_key_pem(data: bytes, password: bytes | None = None) -> EcPrivateKey:
    """Load a PEM private key (PKCS#8 or SEC1) and require EC P-256/P-384."""
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # the library's message may echo input details; the type name is enough to diagnose
        raise ConfigError("ear.key_invalid", f"unreadable PEM private key ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError("ear.key_invalid", f"got a {type(key).__name__}, want an EC private key")
    ec_key_curve_name(key)
    return key


def load_ec_public_key_pem(data: bytes) -> EcPublicKey:
    """Load a PEM SubjectPublicKeyInfo public key and require EC P-256/P-384."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError("ear.key_invalid", f"unreadable PEM public key ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("ear.key_invalid", f"got a {type(key).__name__}, want an EC public key")
    ec_key_curve_name(key)
    return key


def generate_ec_key(curve: str = "P-256") -> EcPrivateKey:
    """A fresh key on ``curve`` (``"P-256"`` or ``"P-384"``)."""
    if curve == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if curve == "P-384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ConfigError("ear.key_invalid", f"curve {curve!r}, want P-256 or P-384")


def generate_p256_key() -> EcPrivateKey:
    """A fresh P-256 key (the default EAR signing key: ES256 is what relying parties most often accept)."""
    return generate_ec_key("P-256")


def private_key_to_pem(key: EcPrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``password`` when one is given (unencrypted otherwise)."""
    ec_key_curve_name(key)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_key_to_pem(key: EcPublicKey | EcPrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM of ``key`` (of its public half for a private key)."""
    ec_key_curve_name(key)
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ec_public_jwk(key: EcPublicKey | EcPrivateKey) -> dict[str, str]:
    """The public JWK (RFC 7518 §6.2.1): ``kty``, ``crv``, ``x``, ``y``, coordinates fixed-width."""
    crv = ec_key_curve_name(key)
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    numbers = public.public_numbers()
    size = _COORD_BYTES[crv]
    return {
        "kty": "EC",
        "crv": crv,
        "x": _b64url(numbers.x.to_bytes(size, "big")),
        "y": _b64url(numbers.y.to_bytes(size, "big")),
    }


def jwk_thumbprint(key: EcPublicKey | EcPrivateKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in lexicographic order."""
    jwk = ec_public_jwk(key)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())
