"""OIDC access-token authentication (RFC 9068 JWT profile, RFC 8725 best practices).

:class:`OidcAuthenticator` implements the gateway's ``Authenticator`` port. For an ``Authorization``
header value it checks, in this order, stopping at the first failure:

1. A ``Bearer`` credential is present (RFC 6750 §2.1) → ``auth.token_missing`` / ``auth.token_malformed``.
2. It parses as a JWS compact token (header and payload JSON objects) → ``auth.token_malformed``.
   Nothing is looked up before this succeeds.
3. ``alg`` is not ``none`` (``auth.token_unsigned``) nor HS* (``auth.alg_not_allowed``): refused whatever
   the configuration.
4. ``iss`` (unverified, used only to choose the issuer) equals a configured issuer exactly →
   ``auth.wrong_issuer`` (``auth.claim_missing`` when absent or not a string).
5. ``alg`` is on that issuer's allow-list → ``auth.alg_not_allowed``.
6. ``typ`` is ``at+jwt`` / ``application/at+jwt`` (case-insensitive) → ``auth.wrong_token_type``.
7. A key of the issuer's JWKS with the token's ``kid`` serves ``alg`` (one bounded refresh when the
   ``kid`` is unknown) → ``auth.unknown_kid`` / ``auth.alg_not_allowed`` / ``auth.issuer_unavailable``.
8. The signature verifies with that key → ``auth.signature_invalid``.
9. The claims pass :func:`~attestgw.identity.claims.check_claims` (time, audience, required claims,
   scopes, tenant / groups / roles).

Not checked: sender constraints (DPoP, mTLS ``cnf``), token revocation or introspection (a JWT access
token is valid until ``exp``), and encrypted (JWE) tokens, which are refused as malformed.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType, TracebackType
from typing import Any

import httpx

from attestgw.clock import utcnow
from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity.claims import check_claims
from attestgw.identity.config import AT_JWT_TYPES, IssuerConfig
from attestgw.identity.jwk import VerificationKey
from attestgw.identity.jwks import JwksCache
from attestgw.identity.principal import Principal
from attestgw.identity.token import UnverifiedToken, bearer_token, parse_unverified_token

__all__ = ["TYP_RELAXED", "OidcAuthenticator"]

#: Recorded in :attr:`Principal.opt_ins` when a token passed only because ``require_at_jwt_typ`` is off.
TYP_RELAXED = "auth.typ_relaxed"
_RELAXED_TYPES = frozenset({"jwt"})


def _check_alg_never(alg: str) -> None:
    if alg.lower() == "none":
        raise AuthenticationError("auth.token_unsigned", "the token is unsigned (alg none): never accepted")
    if alg.upper().startswith("HS"):
        raise AuthenticationError("auth.alg_not_allowed", f"alg {alg[:20]!r} is never accepted")


def _check_typ(typ: str | None, config: IssuerConfig) -> frozenset[str]:
    if typ is not None and typ.lower() in AT_JWT_TYPES:
        return frozenset()
    if not config.require_at_jwt_typ and (typ is None or typ.lower() in _RELAXED_TYPES):
        return frozenset({TYP_RELAXED})
    raise AuthenticationError(
        "auth.wrong_token_type", f"typ is {typ[:40] if typ else None!r}, want at+jwt (RFC 9068 §4)"
    )


_MAX_VERIFIED = 4096


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature verified: its claims, the issuer it was checked for, until when."""

    claims: Mapping[str, Any]
    config: IssuerConfig
    opt_ins: frozenset[str]
    until: float
    key: VerificationKey


class OidcAuthenticator:
    """Verify RFC 9068 access tokens from the configured issuers (see the module docstring).

    ``http_client`` is used for discovery and JWKS fetches (one is created, and closed by
    :meth:`aclose`, when omitted). ``clock`` gives the time claims are checked at; ``monotonic``
    drives cache lifetimes and refresh rate limits. An instance belongs to one event loop.

    Signature results are remembered for ``verified_ttl_s`` (default 60 s, at most 4096 tokens, least
    recently used evicted), keyed by the SHA-256 of the exact token bytes: a repeated token skips the
    parse and the signature check, never the claim checks (``exp``, ``nbf``, ``iat``, audience, scopes
    are evaluated again at every use). The trade-off, documented in docs/identity.md: a key withdrawn
    from the issuer's JWKS stops verifying tokens it signed at most ``verified_ttl_s`` later. ``0``
    turns the memory off.
    """

    def __init__(
        self,
        issuers: Iterable[IssuerConfig],
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        verified_ttl_s: float = 60.0,
    ) -> None:
        configs = tuple(issuers)
        if not configs:
            raise ConfigError("config.issuer_invalid", "at least one OIDC issuer must be configured")
        names = [config.issuer for config in configs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError("config.issuer_invalid", f"issuer(s) configured twice: {', '.join(duplicates)}")
        self._owns_client = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(follow_redirects=False)
        self._clock = clock
        self._caches = {
            config.issuer: JwksCache(config, self._http, monotonic=monotonic) for config in configs
        }
        self._monotonic = monotonic
        self._verified_ttl_s = verified_ttl_s
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()

    def __repr__(self) -> str:
        return f"OidcAuthenticator(issuers={list(self._caches)!r})"

    @property
    def caches(self) -> Mapping[str, JwksCache]:
        """The JWKS cache of each issuer (for metrics: ``cache.stats``)."""
        return MappingProxyType(self._caches)

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal of ``Authorization: Bearer <access token>`` (steps 1–9)."""
        return await self.verify_token(bearer_token(authorization))

    async def verify_token(self, token: str) -> Principal:
        """Steps 2–9 for a bare token (no ``Bearer`` prefix)."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        remembered = self._verified.get(digest)
        if (
            remembered is not None
            and remembered.until > self._monotonic()
            and self._caches[remembered.config.issuer].still_holds(remembered.key)  # not rotated out
        ):
            self._verified.move_to_end(digest)
            return check_claims(
                remembered.claims, remembered.config, self._clock(), opt_ins=remembered.opt_ins
            )
        unverified = parse_unverified_token(token)
        alg = unverified.alg
        _check_alg_never(alg)
        cache = self._cache_for(unverified)
        config = cache.config
        if alg not in config.algorithms:
            raise AuthenticationError(
                "auth.alg_not_allowed", f"alg {alg[:20]!r} is not allowed for issuer {config.issuer!r}"
            )
        opt_ins = _check_typ(unverified.typ, config)
        keys = await cache.keys_for(unverified.kid, alg)
        signer = next(
            (k for k in keys if k.verify(alg, unverified.signing_input, unverified.signature)), None
        )
        if signer is None:
            raise AuthenticationError(
                "auth.signature_invalid", f"the signature does not verify with the key of {config.issuer!r}"
            )
        verified_claims = unverified.unverified_claims  # the signature covers them: verified from here on
        principal = check_claims(verified_claims, config, self._clock(), opt_ins=opt_ins)
        until = self._monotonic() + self._verified_ttl_s
        self._remember(digest, _Verified(verified_claims, config, opt_ins, until, signer))
        return principal

    def _remember(self, digest: bytes, verified: _Verified) -> None:
        if self._verified_ttl_s <= 0:
            return
        self._verified[digest] = verified
        self._verified.move_to_end(digest)
        while len(self._verified) > _MAX_VERIFIED:
            self._verified.popitem(last=False)

    def _cache_for(self, unverified: UnverifiedToken) -> JwksCache:
        iss = unverified.unverified_claims.get("iss")
        if not isinstance(iss, str) or not iss:
            raise AuthenticationError("auth.claim_missing", "the token has no iss claim")
        cache = self._caches.get(iss)
        if cache is None:
            raise AuthenticationError("auth.wrong_issuer", f"issuer {iss[:200]!r} is not configured")
        return cache

    async def aclose(self) -> None:
        """Close the HTTP client if this authenticator created it."""
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> OidcAuthenticator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
