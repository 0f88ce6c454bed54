"""The JWKS cache: discovery, lifetimes, single-flight and rate-limited refreshes, stale-on-error."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from attestgw.errors import AuthenticationError
from attestgw.identity import JwksCacheSettings, OidcAuthenticator, Principal
from attestgw.identity.jwks import cache_ttl, discovery_url
from tests.unit.identity.issuer import ISSUER, FakeIssuer, SigningKey, config


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(
    fake: FakeIssuer,
    body: Callable[[OidcAuthenticator, FakeMonotonic], Awaitable[Any]],
    **config_overrides: Any,
) -> Any:
    clock = FakeMonotonic()

    async def main() -> Any:
        async with httpx.AsyncClient(transport=fake.transport) as client:
            auth = OidcAuthenticator([config(**config_overrides)], client, monotonic=clock)
            return await body(auth, clock)

    return asyncio.run(main())


def code_of(exc_info: pytest.ExceptionInfo[AuthenticationError]) -> str:
    return exc_info.value.code


def test_discovery_then_jwks_once_for_many_tokens() -> None:
    fake = FakeIssuer()

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        for alg in ("RS256", "PS256", "ES256", "EdDSA", "RS256"):
            principal = await auth.authenticate("Bearer " + fake.token(alg))
            assert principal.subject == "user-123"

    run(fake, body)
    assert fake.requests == ["/.well-known/openid-configuration", "/jwks"]


def test_single_flight_fifty_concurrent_unknown_kids_cause_one_fetch() -> None:
    fake = FakeIssuer()

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> list[object]:
        await auth.authenticate("Bearer " + fake.token())  # warm the cache
        before = fake.jwks_fetches
        fake.rotate()
        fake.delay_s = 0.05  # keep the refresh in flight while all 50 arrive
        tokens = [fake.token("ES256") for _ in range(50)]
        results = await asyncio.gather(
            *(auth.authenticate("Bearer " + token) for token in tokens), return_exceptions=True
        )
        assert fake.jwks_fetches - before == 1
        return results

    results = run(fake, body)
    assert all(isinstance(r, Principal) for r in results), results


def test_single_flight_concurrent_first_use_causes_one_fetch() -> None:
    fake = FakeIssuer()
    fake.delay_s = 0.05

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await asyncio.gather(*(auth.authenticate("Bearer " + fake.token()) for _ in range(20)))

    run(fake, body)
    assert fake.jwks_fetches == 1


def test_unknown_kid_refreshes_once_then_is_rate_limited() -> None:
    fake = FakeIssuer()
    stranger = SigningKey("RS256")

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await auth.authenticate("Bearer " + fake.token())
        assert fake.jwks_fetches == 1
        for _ in range(5):
            with pytest.raises(AuthenticationError) as exc_info:
                await auth.authenticate("Bearer " + fake.token(key=stranger))
            assert code_of(exc_info) == "auth.unknown_kid"
        assert fake.jwks_fetches == 2  # one forced refresh, then rate-limited
        stats = auth.caches[ISSUER].stats
        assert (stats.forced_refreshes, stats.rate_limited) == (1, 4)
        clock.now += 31  # past refresh_min_interval_s (30 s)
        with pytest.raises(AuthenticationError):
            await auth.authenticate("Bearer " + fake.token(key=stranger))
        assert fake.jwks_fetches == 3

    run(fake, body)


def test_rotation_new_kid_is_accepted_and_retired_kid_refused() -> None:
    fake = FakeIssuer()
    old_token = fake.token()

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await auth.authenticate("Bearer " + old_token)
        fake.rotate()
        principal = await auth.authenticate("Bearer " + fake.token())
        assert principal.subject == "user-123"
        clock.now += 31
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + old_token)
        assert code_of(exc_info) == "auth.unknown_kid"

    run(fake, body)


def test_ttl_from_cache_control_then_refetch() -> None:
    fake = FakeIssuer()
    fake.cache_control = "public, max-age=120"

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await auth.authenticate("Bearer " + fake.token())
        clock.now += 119
        await auth.authenticate("Bearer " + fake.token())
        assert fake.jwks_fetches == 1
        clock.now += 2
        await auth.authenticate("Bearer " + fake.token())
        assert fake.jwks_fetches == 2

    run(fake, body)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 300.0),
        ("max-age=120", 120.0),
        ("public, max-age=5", 60.0),  # clamped up to min_ttl_s
        ("max-age=99999999", 86_400.0),  # clamped down to max_ttl_s
        ("no-store", 60.0),
        ("max-age=abc", 300.0),
        ("max-age=" + "9" * 400, 300.0),
    ],
)
def test_cache_ttl_bounds(header: str | None, expected: float) -> None:
    assert cache_ttl(header, default=300.0, low=60.0, high=86_400.0) == expected


def test_stale_keys_serve_while_refresh_fails_until_hard_max_age() -> None:
    fake = FakeIssuer()
    cache = JwksCacheSettings(default_ttl_s=300, stale_max_age_s=3600, refresh_min_interval_s=30)

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await auth.authenticate("Bearer " + fake.token())
        fake.fail = True
        clock.now += 301  # expired: the refresh fails, the stale set serves
        assert (await auth.authenticate("Bearer " + fake.token())).subject == "user-123"
        stats = auth.caches[ISSUER].stats
        assert stats.failures == 1
        assert stats.stale_served >= 1
        attempts = fake.jwks_fetches
        clock.now += 10  # within the back-off: no new attempt
        await auth.authenticate("Bearer " + fake.token())
        assert fake.jwks_fetches == attempts
        clock.now += 3600  # beyond stale_max_age_s
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"
        fake.fail = False
        clock.now += 31
        assert (await auth.authenticate("Bearer " + fake.token())).subject == "user-123"

    run(fake, body, jwks_cache=cache)


def test_nothing_cached_and_fetch_fails_is_issuer_unavailable() -> None:
    fake = FakeIssuer()
    fake.fail = True

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"

    run(fake, body)


def test_unreachable_issuer_is_issuer_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake = FakeIssuer()
    fake.transport = httpx.MockTransport(refuse)

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"

    run(fake, body)


def test_slow_issuer_times_out_as_issuer_unavailable() -> None:
    fake = FakeIssuer()
    fake.delay_s = 2.0

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"

    run(fake, body, jwks_cache=JwksCacheSettings(timeout_s=0.2))


def test_discovery_must_name_the_configured_issuer() -> None:
    fake = FakeIssuer()
    fake.discovery_issuer = ISSUER + "/"  # exact string comparison: a trailing slash differs

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        with pytest.raises(AuthenticationError, match="discovery document names issuer") as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"

    run(fake, body)
    assert "/jwks" not in fake.requests


def test_configured_jwks_uri_skips_discovery() -> None:
    fake = FakeIssuer()

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        await auth.authenticate("Bearer " + fake.token())

    run(fake, body, jwks_uri=f"{ISSUER}/jwks")
    assert fake.requests == ["/jwks"]


def test_discovery_url_strips_one_trailing_slash() -> None:
    assert discovery_url("https://a.test/realm/") == "https://a.test/realm/.well-known/openid-configuration"


def _expect_unavailable(fake: FakeIssuer, match: str) -> None:
    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        with pytest.raises(AuthenticationError, match=match) as exc_info:
            await auth.authenticate("Bearer " + fake.token())
        assert code_of(exc_info) == "auth.issuer_unavailable"

    run(fake, body, jwks_cache=JwksCacheSettings(max_bytes=64 * 1024))


def test_oversized_jwks_is_refused() -> None:
    fake = FakeIssuer()
    fake.jwks_body = json.dumps({"keys": [], "padding": "x" * 70_000}).encode()
    _expect_unavailable(fake, "more than 65536")


def test_oversized_jwks_without_content_length_is_refused_while_reading() -> None:
    chunks_sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 8 MiB if nobody stops reading
            chunks_sent.append(1)
            yield b" " * 8192

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/jwks":
            return httpx.Response(200, content=endless())
        return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})

    fake = FakeIssuer()
    fake.transport = httpx.MockTransport(handle)
    _expect_unavailable(fake, "more than 65536 bytes")
    assert len(chunks_sent) < 20


def test_jwks_with_private_key_material_is_refused_whole() -> None:
    fake = FakeIssuer()
    leaked = dict(fake.keys["RS256"].public_jwk, d="AQAB")
    fake.jwks_body = json.dumps({"keys": [leaked, fake.keys["ES256"].public_jwk]}).encode()
    _expect_unavailable(fake, "private or secret key material")


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"keys": {}}', b'{"keys": [], "keys": []}'])
def test_malformed_jwks_is_issuer_unavailable(body: bytes) -> None:
    fake = FakeIssuer()
    fake.jwks_body = body
    _expect_unavailable(fake, "JWKS")


@pytest.mark.parametrize(
    ("mutation", "case"),
    [
        ({"use": "enc"}, "encryption key"),
        ({"alg": "RS512"}, "key pinned to another alg"),
        ({"kty": "oct-ish"}, "unknown kty"),
        ({"n": "AQAB"}, "RSA modulus below 2048 bits"),
    ],
)
def test_unusable_keys_are_skipped(mutation: dict[str, Any], case: str) -> None:
    fake = FakeIssuer()
    fake.keys["RS256"].public_jwk.update(mutation)

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        assert (await auth.authenticate("Bearer " + fake.token("ES256"))).subject == "user-123"
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate("Bearer " + fake.token("RS256"))
        assert code_of(exc_info) in {"auth.unknown_kid", "auth.alg_not_allowed"}, case

    run(fake, body)


def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch() -> None:
    fake = FakeIssuer()
    fake.delay_s = 0.1

    async def body(auth: OidcAuthenticator, clock: FakeMonotonic) -> None:
        first = asyncio.ensure_future(auth.authenticate("Bearer " + fake.token()))
        second = asyncio.ensure_future(auth.authenticate("Bearer " + fake.token()))
        await asyncio.sleep(0.02)
        first.cancel()
        assert (await second).subject == "user-123"
        assert first.cancelled()

    run(fake, body)
    assert fake.jwks_fetches == 1
