"""A fake OpenID issuer for unit tests: local keys, a JWKS served through httpx.MockTransport, minted tokens.

``FakeIssuer`` holds RS256 / PS256 / ES256 / EdDSA keys, answers discovery and JWKS requests (counting
them, optionally slow, failing or with a Cache-Control header) and mints RFC 9068 tokens with
per-claim and per-header overrides (``None`` as a value deletes the member). ``forge`` builds tokens
by hand (``alg: none``, HS256 keyed with the public key, tampered payloads).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from attestgw.crypto.keys import generate_ec_key
from attestgw.crypto.note_keys import ed25519_generate_seed, ed25519_public_key
from attestgw.crypto.signing import generate_rsa_key
from attestgw.identity import IssuerConfig, JwksCacheSettings

ISSUER = "https://issuer.test"
AUDIENCE = "http://gateway.test"
_RSA_CACHE: list[Any] = []


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rsa_key() -> Any:
    # RSA generation dominates test time; a few keys are plenty (each FakeIssuer still gets fresh kids).
    if len(_RSA_CACHE) < 4:
        _RSA_CACHE.append(generate_rsa_key(2048))
        return _RSA_CACHE[-1]
    return secrets.choice(_RSA_CACHE)


class SigningKey:
    """A private key with its public JWK."""

    def __init__(self, alg: str, kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid if kid is not None else f"{alg.lower()}-{secrets.token_hex(4)}"
        if alg in ("RS256", "PS256"):
            self.private: Any = _rsa_key()
            self.public_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "ES256":
            self.private = generate_ec_key("P-256")
            self.public_jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "EdDSA":
            seed = ed25519_generate_seed()
            x = b64url(ed25519_public_key(seed))
            self.private = jwt.PyJWK({"kty": "OKP", "crv": "Ed25519", "d": b64url(seed), "x": x}).key
            self.public_jwk = {"kty": "OKP", "crv": "Ed25519", "x": x}
        else:
            raise ValueError(alg)
        self.public_jwk.pop("key_ops", None)
        self.public_jwk.update(kid=self.kid, use="sig", alg=alg)


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS with exactly this header, payload and signature (no signing)."""
    return ".".join(
        (b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(signature))
    )


def hs256_forgery(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """The "HS256 keyed with the public key" forgery: HMAC-SHA256 under ``secret``."""
    header = {**header, "alg": "HS256"}
    h, p = b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(mac)}"


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return _der(0x02, raw)


def rsa_public_pem(jwk: dict[str, Any]) -> bytes:
    """SubjectPublicKeyInfo PEM of an RSA JWK (what an attacker downloads and uses as an HMAC key)."""

    def number(name: str) -> int:
        text = jwk[name]
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    rsa_key = _der(0x30, _der_int(number("n")) + _der_int(number("e")))
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    spki = _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_key))
    body = base64.encodebytes(spki).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode()


def config(**overrides: Any) -> IssuerConfig:
    """An IssuerConfig for :data:`ISSUER` (no discovery needed: served anyway), with overrides."""
    settings = {"issuer": ISSUER, "audiences": (AUDIENCE,), "leeway_s": 60}
    settings.update(overrides)
    if "jwks_cache" not in settings:
        settings["jwks_cache"] = JwksCacheSettings()
    return IssuerConfig(**settings)


class FakeIssuer:
    """Serves discovery and JWKS for :data:`ISSUER`; mints tokens. Use ``transport`` with httpx."""

    def __init__(self, algs: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")) -> None:
        self.keys = {alg: SigningKey(alg) for alg in algs}
        self.published: list[SigningKey] = list(self.keys.values())
        self.requests: list[str] = []
        self.fail = False
        self.delay_s = 0.0
        self.cache_control: str | None = None
        self.discovery_issuer = ISSUER
        self.jwks_body: bytes | None = None  # when set, served verbatim
        self.transport = httpx.MockTransport(self._handle)

    @property
    def jwks_fetches(self) -> int:
        return sum(1 for path in self.requests if path == "/jwks")

    def rotate(self) -> None:
        """Replace every key with a new one (new kids); the old ones stop being published."""
        self.keys = {alg: SigningKey(alg) for alg in self.keys}
        self.published = list(self.keys.values())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self.published]}

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            return httpx.Response(503, text="down")
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": self.discovery_issuer, "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path == "/jwks":
            headers = {"cache-control": self.cache_control} if self.cache_control else {}
            body = self.jwks_body if self.jwks_body is not None else json.dumps(self.jwks()).encode()
            return httpx.Response(200, content=body, headers=headers)
        return httpx.Response(404)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "user-123",
            "aud": AUDIENCE,
            "client_id": "client-abc",
            "iat": now,
            "exp": now + 600,
            "jti": secrets.token_hex(8),
            "scope": "infer attest",
            "tenant": "acme",
            "groups": ["researchers", "ops"],
            "roles": ["operator"],
        }
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def header(self, alg: str = "RS256", **overrides: Any) -> dict[str, Any]:
        kid = (self.keys.get(alg) or next(iter(self.keys.values()))).kid
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt", "kid": kid}
        for name, value in overrides.items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        return header

    def token(
        self,
        alg: str = "RS256",
        *,
        key: SigningKey | None = None,
        header: dict[str, Any] | None = None,
        **claim_overrides: Any,
    ) -> str:
        """A token signed by this issuer's ``alg`` key (or ``key``); ``header`` overrides header members."""
        signer = key if key is not None else self.keys[alg]
        fields = self.header(alg, kid=signer.kid, **(header or {}))
        fields.pop("alg")
        headers = dict(fields)
        if "typ" not in headers:
            headers["typ"] = None  # pyjwt adds "typ: JWT" unless told not to
        return jwt.encode(self.claims(**claim_overrides), signer.private, algorithm=alg, headers=headers)
