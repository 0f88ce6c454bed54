"""Parse an issuer's JSON Web Key Set (RFC 7517 §5) into public verification keys.

:func:`parse_jwk_set` turns the bytes of a ``jwks_uri`` response into a :class:`JwkSet`. Per key:

1. ``kty`` must be ``RSA``, ``EC`` or ``OKP`` (RFC 7518 §6, RFC 8037); others are skipped, as RFC 7517
   §5 asks for keys that are not understood.
2. A key carrying private or secret members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``,
   ``k``) makes the WHOLE set refused: an issuer that publishes key material it signs with is
   compromised, and nothing it signs can be trusted.
3. ``use``, when present, must be ``sig``; ``alg``, when present, restricts the key to that algorithm
   (and must be one of :data:`~attestgw.identity.config.ASYMMETRIC_ALGORITHMS`); otherwise the key is
   skipped.
4. RSA moduli shorter than 2048 bits are skipped (RFC 7518 §3.3, §3.5); EC keys serve only the
   algorithm of their curve; OKP keys only EdDSA on Ed25519 or Ed448.
5. The public key object is built by pyjwt (:class:`jwt.PyJWK`), which checks EC points lie on the
   curve; keys it cannot build are skipped.

A body that is not a JSON object with a ``keys`` array, holds more than :data:`MAX_KEYS` entries, or
has private material raises ``auth.issuer_unavailable`` (the issuer cannot be used). Not checked:
``key_ops``, ``x5c`` / ``x5t`` certificate chains (the JWKS is trusted as fetched from the issuer),
and that ``kid`` values are unique (a token's ``kid`` selects every key with that id).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import PyJWKError, PyJWTError

from attestgw.encoding import strict_json_object as loads_object
from attestgw.errors import AuthenticationError
from attestgw.identity.config import ASYMMETRIC_ALGORITHMS

__all__ = ["MAX_KEYS", "JwkSet", "VerificationKey", "parse_jwk_set"]

#: Most keys accepted in one JWKS; issuers publish a handful.
MAX_KEYS = 100
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MIN_RSA_BITS = 2048
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALG_FOR_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_OKP_CURVES = frozenset({"Ed25519", "Ed448"})
_ALGORITHMS: dict[str, Algorithm] = {
    name: algorithm for name, algorithm in get_default_algorithms().items() if name in ASYMMETRIC_ALGORITHMS
}


def _unavailable(message: str) -> AuthenticationError:
    return AuthenticationError("auth.issuer_unavailable", message)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key of the issuer and the JWS algorithms it may verify."""

    kid: str | None
    kty: str
    algorithms: frozenset[str]
    public_key: Any

    def verify(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """Whether ``signature`` over ``signing_input`` verifies under ``alg`` (False if not allowed)."""
        if alg not in self.algorithms:
            return False
        try:
            return bool(_ALGORITHMS[alg].verify(signing_input, self.public_key, signature))
        except (ValueError, TypeError):  # malformed signature encodings are refusals, not crashes
            return False

    def __repr__(self) -> str:
        return f"VerificationKey(kid={self.kid!r}, kty={self.kty!r}, algorithms={sorted(self.algorithms)})"


@dataclass(frozen=True, slots=True)
class JwkSet:
    """The usable keys of one JWKS, and how many entries were skipped."""

    keys: tuple[VerificationKey, ...]
    skipped: int = 0

    def candidates(self, kid: str | None, alg: str) -> tuple[VerificationKey, ...]:
        """Keys with this ``kid`` (any key when the token has none) that may verify ``alg``."""
        return tuple(key for key in self.keys if (kid is None or key.kid == kid) and alg in key.algorithms)

    def has_kid(self, kid: str | None) -> bool:
        """Whether any key has this ``kid`` (``None``: whether the set has any key at all)."""
        return any(kid is None or key.kid == kid for key in self.keys)


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    n = jwk.get("n")
    if not isinstance(n, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _compatible_algorithms(jwk: Mapping[str, Any]) -> frozenset[str]:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return _RSA_ALGS if _rsa_bits(jwk) >= _MIN_RSA_BITS else frozenset()
    if kty == "EC" and isinstance(crv, str) and crv in _EC_ALG_FOR_CURVE:
        return frozenset({_EC_ALG_FOR_CURVE[crv]})
    if kty == "OKP" and isinstance(crv, str) and crv in _OKP_CURVES:
        return frozenset({"EdDSA"})
    return frozenset()


def _parse_key(jwk: Mapping[str, Any]) -> VerificationKey | None:
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    if "use" in jwk and jwk["use"] != "sig":
        return None
    algorithms = _compatible_algorithms(jwk)
    if "alg" in jwk:
        algorithms = algorithms & {jwk["alg"]} if isinstance(jwk["alg"], str) else frozenset()
    if not algorithms:
        return None
    try:
        # pyjwt picks the key class from the algorithm; any compatible one builds the same key.
        public_key = jwt.PyJWK(dict(jwk), algorithm=min(algorithms)).key
    except (PyJWKError, PyJWTError, ValueError, TypeError, KeyError, binascii.Error):
        return None
    return VerificationKey(kid=kid, kty=str(jwk["kty"]), algorithms=algorithms, public_key=public_key)


def parse_jwk_set(data: bytes) -> JwkSet:
    """Parse a JWKS document; see the module docstring for what is kept, skipped and refused."""
    try:
        document = loads_object(data)
    except ValueError as exc:
        raise _unavailable(f"the JWKS is not a JSON object ({type(exc).__name__})") from exc
    if not isinstance(document.get("keys"), list):
        raise _unavailable("the JWKS is not a JSON object with a keys array")
    entries: list[Any] = document["keys"]
    if len(entries) > MAX_KEYS:
        raise _unavailable(f"the JWKS has {len(entries)} keys, more than {MAX_KEYS}")
    keys: list[VerificationKey] = []
    skipped = 0
    for entry in entries:
        if not isinstance(entry, dict):
            skipped += 1
            continue
        if _PRIVATE_MEMBERS & entry.keys():
            raise _unavailable(
                "the JWKS publishes private or secret key material "
                f"(kid {str(entry.get('kid'))[:64]!r}); refusing it"
            )
        key = _parse_key(entry)
        if key is None:
            skipped += 1
        else:
            keys.append(key)
    return JwkSet(keys=tuple(keys), skipped=skipped)
