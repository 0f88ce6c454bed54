"""Parse stage of access-token handling: ``Authorization`` header → unverified JWS compact token.

:func:`bearer_token` extracts the token of an RFC 6750 §2.1 ``Bearer`` credential;
:func:`parse_unverified_token` splits a JWS compact serialization (RFC 7515 §7.1), decodes the
protected header and the payload as JSON objects, and returns them as ``unverified_…`` values: nothing
here checks a signature, and nothing returned may be trusted before :mod:`attestgw.identity.oidc`
verified it.

Refused as ``auth.token_malformed``: anything but three base64url segments (so JWE, five segments,
and the unencoded-payload option are refused), padding or characters outside the base64url alphabet,
tokens over :data:`MAX_TOKEN_CHARS`, non-UTF-8 or non-object JSON, duplicate member names, a header
without a string ``alg``, a ``crit`` header (no extension is understood, RFC 7515 §4.1.11), and
non-string ``kid`` / ``typ``. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are never used: keys come only from
the configured issuer's JWKS.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from attestgw.encoding import strict_json_object as loads_object
from attestgw.errors import AuthenticationError

__all__ = ["MAX_TOKEN_CHARS", "UnverifiedToken", "bearer_token", "parse_unverified_token"]

#: Longest token accepted (characters); real access tokens are a few kilobytes at most.
MAX_TOKEN_CHARS = 16 * 1024
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")


def _malformed(message: str) -> AuthenticationError:
    return AuthenticationError("auth.token_malformed", message)


def bearer_token(authorization: str | None) -> str:
    """The ``b64token`` of ``Authorization: Bearer <token>`` (scheme case-insensitive).

    Raises ``auth.token_missing`` when the header is absent, empty or uses another scheme, and
    ``auth.token_malformed`` when the credential is not one RFC 6750 ``b64token`` or is too long.
    """
    if authorization is None or not authorization.strip():
        raise AuthenticationError("auth.token_missing", "no Authorization header")
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthenticationError("auth.token_missing", "the Authorization scheme is not Bearer")
    credential = credential.strip(" ")
    if len(credential) > MAX_TOKEN_CHARS:
        raise _malformed(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
    if not credential or not _B64TOKEN.fullmatch(credential):
        raise _malformed("the Bearer credential is not a single RFC 6750 b64token")
    return credential


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A JWS compact token split and decoded, signature NOT checked.

    ``signing_input`` is the ASCII ``header.payload`` the signature covers; ``signature`` its decoded
    bytes. Header and claims are read-only mappings.
    """

    unverified_header: Mapping[str, Any]
    unverified_claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        value: str = self.unverified_header["alg"]
        return value

    @property
    def kid(self) -> str | None:
        value: str | None = self.unverified_header.get("kid")
        return value

    @property
    def typ(self) -> str | None:
        value: str | None = self.unverified_header.get("typ")
        return value

    def __repr__(self) -> str:  # never print a token (it is a bearer credential)
        return f"UnverifiedToken(alg={self.alg!r}, kid={self.kid!r}, typ={self.typ!r})"


def _b64decode(segment: str, what: str) -> bytes:
    if not _B64URL.fullmatch(segment):
        raise _malformed(f"the {what} is not unpadded base64url")
    if len(segment) % 4 == 1:
        raise _malformed(f"the {what} has an impossible base64url length")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"the {what} is not base64url") from exc


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return loads_object(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise _malformed(f"the {what} is not a JSON object ({type(exc).__name__})") from exc


def parse_unverified_token(token: str) -> UnverifiedToken:
    """Split and decode a JWS compact token (RFC 7515 §7.1); see the module docstring for refusals."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _malformed(f"the token is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed(f"a JWS compact token has 3 segments, got {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64, "header"), "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise _malformed("the header has no string alg")
    if "crit" in header:
        raise _malformed("the header lists critical extensions (crit), none of which are understood")
    if header.get("b64") is False:
        raise _malformed("the unencoded-payload option (b64: false) is not supported")
    for name in ("kid", "typ"):
        if name in header and not isinstance(header[name], str):
            raise _malformed(f"the header {name} is not a string")
    claims = _json_object(_b64decode(payload_b64, "payload"), "payload")
    signature = _b64decode(signature_b64, "signature")
    return UnverifiedToken(
        unverified_header=MappingProxyType(header),
        unverified_claims=MappingProxyType(claims),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
    )
