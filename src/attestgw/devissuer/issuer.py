"""The development issuer: keys, token minting, and its Starlette app (see the package docstring)."""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from attestgw.crypto.keys import generate_p256_key
from attestgw.crypto.signing import p256_public_raw

__all__ = ["DevClient", "DevIssuer"]

_MAX_TTL_S = 24 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class DevClient:
    """A client-credentials client and what its tokens say about it."""

    client_id: str
    secret: str = field(repr=False)
    subject: str
    tenant: str | None = None
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ("inference",)


class DevIssuer:
    """Issues RFC 9068 access tokens for ``audience`` under ``issuer`` (the URL it is served at)."""

    def __init__(self, issuer: str, audience: str, clients: Sequence[DevClient] = ()) -> None:
        self.issuer = issuer.rstrip("/")  # set again with serve_at() when the port is known only later
        self.audience = audience
        self._key = generate_p256_key()
        raw = p256_public_raw(self._key)
        self._kid = _b64url(raw[:12])
        self._jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(raw[:32]),
            "y": _b64url(raw[32:]),
            "kid": self._kid,
            "use": "sig",
            "alg": "ES256",
        }
        self._clients = {c.client_id: c for c in clients}

    def serve_at(self, url: str) -> None:
        """Name the issuer after the URL it was bound to (an ephemeral port is known only then)."""
        self.issuer = url.rstrip("/")

    def __repr__(self) -> str:
        return f"<DevIssuer {self.issuer} kid={self._kid} DEVELOPMENT ONLY>"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "token_endpoint": f"{self.issuer}/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def mint(
        self,
        subject: str,
        *,
        client_id: str = "attestgw-demo",
        tenant: str | None = None,
        groups: Sequence[str] = (),
        scopes: Sequence[str] = ("inference",),
        ttl_s: int = 3600,
        audience: str | None = None,
    ) -> str:
        """A signed access token for ``subject``, valid from now for ``ttl_s`` seconds (≤ 24 h)."""
        if not 0 < ttl_s <= _MAX_TTL_S:
            raise ValueError(f"ttl_s must be in 1..{_MAX_TTL_S}")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": subject,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": str(uuid.uuid4()),
            "groups": list(groups),
        }
        if tenant is not None:
            claims["tenant"] = tenant
        headers = {"typ": "at+jwt", "kid": self._kid}
        return jwt.encode(claims, self._key, algorithm="ES256", headers=headers)

    def _client(self, form: Mapping[str, str], authorization: str) -> DevClient | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                client_id, _, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        return client

    def app(self) -> Starlette:
        """The issuer's HTTP face (serve it on loopback; see :mod:`attestgw.devissuer`)."""

        async def discovery(request: Request) -> Response:
            return JSONResponse(self.discovery())

        async def jwks(request: Request) -> Response:
            return JSONResponse(self.jwks(), headers={"cache-control": "max-age=300"})

        async def token(request: Request) -> Response:
            body = await request.body()
            if len(body) > 4096:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            client = self._client(form, request.headers.get("authorization", ""))
            if client is None:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            asked = form.get("scope", "").split()
            if any(scope not in client.scopes for scope in asked):
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            access = self.mint(
                client.subject,
                client_id=client.client_id,
                tenant=client.tenant,
                groups=client.groups,
                scopes=asked or client.scopes,
            )
            answer = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
            return JSONResponse(answer, headers={"cache-control": "no-store"})

        routes = [
            Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
            Route("/jwks", jwks, methods=["GET"]),
            Route("/token", token, methods=["POST"]),
        ]
        return Starlette(routes=routes)
