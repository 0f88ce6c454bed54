"""Where an issuer's keys come from: OpenID discovery and a JWKS cache with bounded refreshes.

:class:`JwksCache` serves the verification keys of ONE configured issuer. All I/O is awaited on an
``httpx.AsyncClient`` (the event loop never blocks); redirects are not followed.

1. Discovery (OpenID Connect Discovery 1.0 §4): unless ``jwks_uri`` is configured, GET
   ``<issuer without trailing "/">/.well-known/openid-configuration``; its ``issuer`` must equal the
   configured issuer exactly (§4.3) and its ``jwks_uri`` must be https (http only on loopback). The
   discovered URL is kept until a JWKS fetch fails, then discovered again.
2. Fetch: HTTP 200 only; at most ``max_bytes`` (after content decoding), within ``timeout_s`` overall.
   The set is parsed by :func:`~attestgw.identity.jwk.parse_jwk_set`.
3. Lifetime: ``Cache-Control: max-age`` clamped to ``min_ttl_s..max_ttl_s`` (``no-store`` /
   ``no-cache`` mean ``min_ttl_s``), ``default_ttl_s`` when absent. An expired set is refreshed on use.
4. Unknown ``kid``: ONE forced refresh, single-flight (concurrent callers share one fetch) and
   rate-limited (at most one forced refresh per ``refresh_min_interval_s``); still unknown after it, or
   refused by the rate limit → ``auth.unknown_kid``. A refresh replaces the set: keys the issuer retired
   stop verifying.
5. Stale-on-error: when a refresh fails, the previous set keeps serving until ``stale_max_age_s`` after
   it was fetched, and no new attempt is made for ``refresh_min_interval_s``. With nothing usable
   cached, a failed fetch is ``auth.issuer_unavailable``.

Not checked: TLS settings beyond httpx's defaults (certificate verification on); that the issuer's key
rotation is sane (a set may legitimately shrink); the response ``Content-Type``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from attestgw.encoding import strict_json_object as loads_object
from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity.config import IssuerConfig, check_url
from attestgw.identity.jwk import JwkSet, VerificationKey, parse_jwk_set

__all__ = ["CacheStats", "JwksCache", "cache_ttl", "discovery_url"]

_MAX_DISCOVERY_BYTES = 64 * 1024


def _unavailable(message: str) -> AuthenticationError:
    return AuthenticationError("auth.issuer_unavailable", message)


def discovery_url(issuer: str) -> str:
    """The OpenID provider configuration URL of ``issuer`` (Discovery §4: strip one trailing ``/``)."""
    return issuer.removesuffix("/") + "/.well-known/openid-configuration"


def cache_ttl(cache_control: str | None, *, default: float, low: float, high: float) -> float:
    """Seconds to keep a response: its ``max-age`` clamped to ``low..high``, else ``default``."""
    if not cache_control:
        return default
    ttl: float | None = None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return low
        if name == "max-age" and value.strip().isdigit() and len(value.strip()) <= 12:
            ttl = float(int(value.strip()))
    return default if ttl is None else min(max(ttl, low), high)


@dataclass(slots=True)
class CacheStats:
    """Counters for metrics and tests: fetch attempts and their outcomes."""

    fetches: int = 0
    failures: int = 0
    forced_refreshes: int = 0
    rate_limited: int = 0
    stale_served: int = 0


class JwksCache:
    """The keys of one issuer, fetched lazily and refreshed as the module docstring describes.

    ``monotonic`` is the clock for lifetimes and rate limits (seconds; injectable for tests). One
    instance belongs to one event loop.
    """

    def __init__(
        self,
        config: IssuerConfig,
        http: httpx.AsyncClient,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.stats = CacheStats()
        self._http = http
        self._settings = config.jwks_cache
        self._monotonic = monotonic
        self._jwks_uri: str | None = config.jwks_uri
        self._keys: JwkSet | None = None
        self._fetched_at = 0.0
        self._expires_at = 0.0
        self._last_forced = float("-inf")
        self._last_failure = float("-inf")
        self._inflight: asyncio.Future[JwkSet] | None = None

    def __repr__(self) -> str:
        return f"JwksCache({self.config.issuer!r}, keys={len(self._keys.keys) if self._keys else None})"

    async def keys_for(self, kid: str | None, alg: str) -> tuple[VerificationKey, ...]:
        """The cached keys that may verify a token with this ``kid`` and ``alg`` (steps 3–5).

        Raises ``auth.unknown_kid`` (no such key even after the bounded refresh),
        ``auth.alg_not_allowed`` (the key exists but does not serve ``alg``), or
        ``auth.issuer_unavailable``.
        """
        keys, just_fetched = await self._current()
        found = keys.candidates(kid, alg)
        if found:
            return found
        if keys.has_kid(kid):
            raise AuthenticationError(
                "auth.alg_not_allowed",
                f"the issuer's key {str(kid)[:100]!r} is not usable with alg {alg[:20]!r}",
            )
        if not just_fetched:
            keys = await self._forced_refresh()
            found = keys.candidates(kid, alg)
            if found:
                return found
            if keys.has_kid(kid):
                raise AuthenticationError(
                    "auth.alg_not_allowed",
                    f"the issuer's key {str(kid)[:100]!r} is not usable with alg {alg[:20]!r}",
                )
        raise AuthenticationError(
            "auth.unknown_kid", f"no key of issuer {self.config.issuer!r} has kid {str(kid)[:100]!r}"
        )

    def still_holds(self, key: VerificationKey) -> bool:
        """Whether ``key`` (an object this cache handed out) is in the key set held now (no I/O)."""
        return self._keys is not None and any(held is key for held in self._keys.keys)

    # -- refresh policy ---------------------------------------------------------------------------

    async def _current(self) -> tuple[JwkSet, bool]:
        """The set to use now, and whether this call waited for a fetch (then no forced refresh)."""
        now = self._monotonic()
        if self._keys is not None and now < self._expires_at:
            return self._keys, False
        if self._inflight is None and now - self._last_failure < self._settings.refresh_min_interval_s:
            return self._stale_or_raise(now, "the last fetch failed; waiting before the next attempt"), False
        try:
            return await self._refresh(), True
        except AuthenticationError as exc:
            return self._stale_or_raise(self._monotonic(), exc.message), False

    def _stale_or_raise(self, now: float, reason: str) -> JwkSet:
        if self._keys is not None and now - self._fetched_at <= self._settings.stale_max_age_s:
            self.stats.stale_served += 1
            return self._keys
        raise _unavailable(f"issuer {self.config.issuer!r}: {reason}")

    async def _forced_refresh(self) -> JwkSet:
        now = self._monotonic()
        if self._inflight is None:
            interval = self._settings.refresh_min_interval_s
            if now - self._last_forced < interval or now - self._last_failure < interval:
                self.stats.rate_limited += 1
                return self._stale_or_raise(now, "refreshes are rate-limited")
            self._last_forced = now
            self.stats.forced_refreshes += 1
        try:
            return await self._refresh()
        except AuthenticationError as exc:
            return self._stale_or_raise(self._monotonic(), exc.message)

    async def _refresh(self) -> JwkSet:
        """Join the fetch in flight, or start one; callers being cancelled never cancel it."""
        if self._inflight is None:
            task = asyncio.ensure_future(self._fetch())
            self._inflight = task
            task.add_done_callback(self._fetch_done)
        return await asyncio.shield(self._inflight)

    def _fetch_done(self, task: asyncio.Future[JwkSet]) -> None:
        self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is never logged as lost

    async def _fetch(self) -> JwkSet:
        self.stats.fetches += 1
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                uri = self._jwks_uri or await self._discover()
                body, headers = await self._get(uri, "JWKS", self._settings.max_bytes)
                keys = parse_jwk_set(body)
        except (AuthenticationError, TimeoutError) as exc:
            self.stats.failures += 1
            self._last_failure = self._monotonic()
            if self.config.jwks_uri is None:
                self._jwks_uri = None  # discover again next time: the provider may have moved it
            if isinstance(exc, TimeoutError):
                raise _unavailable(f"fetching the keys of {self.config.issuer!r} timed out") from exc
            raise
        settings = self._settings
        now = self._monotonic()
        ttl = cache_ttl(
            headers.get("cache-control"),
            default=settings.default_ttl_s,
            low=settings.min_ttl_s,
            high=settings.max_ttl_s,
        )
        self._keys, self._fetched_at, self._expires_at = keys, now, now + ttl
        return keys

    # -- HTTP -------------------------------------------------------------------------------------

    async def _discover(self) -> str:
        url = discovery_url(self.config.issuer)
        body, _ = await self._get(url, "discovery document", _MAX_DISCOVERY_BYTES)
        try:
            document = loads_object(body)
        except ValueError as exc:
            raise _unavailable(f"the discovery document is not a JSON object ({type(exc).__name__})") from exc
        if document.get("issuer") != self.config.issuer:
            raise _unavailable(
                f"the discovery document names issuer {str(document.get('issuer'))[:200]!r}, "
                f"want {self.config.issuer!r}"
            )
        try:
            self._jwks_uri = check_url("jwks_uri", document.get("jwks_uri"))
        except ConfigError as exc:
            raise _unavailable(f"the discovery document's jwks_uri is unusable: {exc.message}") from exc
        return self._jwks_uri

    async def _get(self, url: str, what: str, limit: int) -> tuple[bytes, httpx.Headers]:
        try:
            async with self._http.stream(
                "GET", url, headers={"Accept": "application/json"}, follow_redirects=False
            ) as response:
                if response.status_code != 200:
                    raise _unavailable(f"the {what} at {url} answered HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _unavailable(f"the {what} is {declared} bytes, more than {limit}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise _unavailable(f"the {what} is more than {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks), response.headers
        except httpx.HTTPError as exc:
            raise _unavailable(f"fetching the {what} at {url} failed ({type(exc).__name__})") from exc
