"""OidcAuthenticator against a REAL OpenID provider (npm oidc-provider) on loopback.

Tokens come from the provider's token endpoint (client_credentials, RFC 9068 JWT access tokens); the
authenticator discovers the issuer and fetches its JWKS over real sockets. Forgeries (``alg: none``,
HS256 keyed with the issuer's public key) are built by the test from real tokens and the real JWKS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from attestgw.errors import AuthenticationError
from attestgw.identity import IssuerConfig, OidcAuthenticator
from tests.oidc.fixture import AUDIENCE, OidcProvider
from tests.unit.identity.issuer import b64url, forge, hs256_forgery, rsa_public_pem

T = TypeVar("T")


def config_for(provider: OidcProvider, **overrides: Any) -> IssuerConfig:
    settings: dict[str, Any] = {
        "issuer": provider.issuer,
        "audience": AUDIENCE,
        "required_scopes": ["infer"],
        "roles_claim": "realm_access.roles",
    }
    settings.update(overrides)
    return IssuerConfig.from_mapping(settings)


def run(configs: list[IssuerConfig], body: Callable[[OidcAuthenticator], Awaitable[T]]) -> T:
    async def main() -> T:
        async with OidcAuthenticator(configs) as auth:  # its own httpx client, real sockets
            return await body(auth)

    return asyncio.run(main())


def refused_code(configs: list[IssuerConfig], token: str) -> str:
    async def body(auth: OidcAuthenticator) -> str:
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate(f"Bearer {token}")
        return exc_info.value.code

    return run(configs, body)


def split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(segment: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded

    header, payload, _ = token.split(".")
    return part(header), part(payload)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_valid_token_is_accepted_with_claims_from_the_provider(oidc_provider: OidcProvider, alg: str) -> None:
    token = oidc_provider.token("infer attest", alg=alg)
    header, _ = split(token)
    assert (header["alg"], header["typ"]) == (alg, "at+jwt")

    async def body(auth: OidcAuthenticator) -> Any:
        return await auth.authenticate(f"Bearer {token}")

    principal = run([config_for(oidc_provider)], body)
    assert principal.subject == "attestgw-test"
    assert principal.issuer == oidc_provider.issuer
    assert principal.client_id == "attestgw-test"
    assert principal.tenant == "acme"
    assert principal.groups == ("researchers", "ops")
    assert principal.roles == ("operator",)
    assert principal.scopes == frozenset({"infer", "attest"})


def test_another_client_gets_its_own_tenant(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token("infer", client_id="attestgw-other")

    async def body(auth: OidcAuthenticator) -> Any:
        return await auth.authenticate(f"Bearer {token}")

    principal = run([config_for(oidc_provider)], body)
    assert (principal.tenant, principal.groups) == ("globex", ())


def test_expired_token_is_refused(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token(short_lived=True)
    _, claims = split(token)
    assert claims["exp"] - claims["iat"] == 1
    while time.time() < claims["exp"] + 0.2:  # a real token, really expired (leeway 0)
        time.sleep(0.1)
    assert refused_code([config_for(oidc_provider, leeway_s=0)], token) == "auth.token_expired"


def test_wrong_audience_is_refused(oidc_provider: OidcProvider) -> None:
    config = config_for(oidc_provider, audience="http://another-gateway.test")
    assert refused_code([config], oidc_provider.token()) == "auth.wrong_audience"


def test_wrong_issuer_is_refused(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token()
    # Exact match: the same provider configured with a trailing slash is another issuer.
    configs = [config_for(oidc_provider, issuer=oidc_provider.issuer + "/")]
    assert refused_code(configs, token) == "auth.wrong_issuer"


def test_alg_none_forgery_is_refused(oidc_provider: OidcProvider) -> None:
    header, claims = split(oidc_provider.token())
    claims["sub"] = "admin"
    forged = forge({**header, "alg": "none"}, claims)
    assert refused_code([config_for(oidc_provider)], forged) == "auth.token_unsigned"


def test_hs256_keyed_with_the_issuers_public_key_is_refused(oidc_provider: OidcProvider) -> None:
    header, claims = split(oidc_provider.token())
    jwk = next(k for k in oidc_provider.public_jwks()["keys"] if k["kid"] == header["kid"])
    forged = hs256_forgery(header, {**claims, "sub": "admin"}, rsa_public_pem(jwk))
    assert refused_code([config_for(oidc_provider)], forged) == "auth.alg_not_allowed"


def test_tampered_claims_are_refused(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token()
    header_b64, _, signature = token.split(".")
    _, claims = split(token)
    tampered = f"{header_b64}.{b64url(json.dumps({**claims, 'tenant': 'globex'}).encode())}.{signature}"
    assert refused_code([config_for(oidc_provider)], tampered) == "auth.signature_invalid"


def test_missing_scope_is_refused(oidc_provider: OidcProvider) -> None:
    token = oidc_provider.token("attest read_log")
    assert refused_code([config_for(oidc_provider)], token) == "auth.scope_missing"


def test_rotation_unknown_kid_refreshes_once_and_retired_keys_are_refused(
    rotating_oidc_provider: OidcProvider,
) -> None:
    provider = rotating_oidc_provider
    old_token = provider.token()
    config = config_for(provider, jwks_cache={"refresh_min_interval_s": 0})

    async def body(auth: OidcAuthenticator) -> None:
        assert (await auth.authenticate(f"Bearer {old_token}")).subject == "attestgw-test"
        stats = auth.caches[provider.issuer].stats
        assert stats.fetches == 1
        old_kid = split(old_token)[0]["kid"]
        new_kids = await asyncio.to_thread(provider.rotate_keys)
        assert old_kid not in new_kids.values()
        new_token = await asyncio.to_thread(provider.token)
        assert split(new_token)[0]["kid"] == new_kids["RS256"]
        # The new kid is unknown to the cache: one refresh, then accepted.
        assert (await auth.authenticate(f"Bearer {new_token}")).subject == "attestgw-test"
        assert (stats.fetches, stats.forced_refreshes) == (2, 1)
        # The retired kid is gone from the issuer's JWKS: refused after its own bounded refresh.
        with pytest.raises(AuthenticationError) as exc_info:
            await auth.authenticate(f"Bearer {old_token}")
        assert exc_info.value.code == "auth.unknown_kid"
        assert stats.fetches == 3

    run([config], body)


def test_each_refusal_has_its_own_code(oidc_provider: OidcProvider) -> None:
    """The Must-show list, in one table: every refusal is distinguishable by its code alone."""
    token = oidc_provider.token()
    header, claims = split(token)
    jwk = next(k for k in oidc_provider.public_jwks()["keys"] if k["kid"] == header["kid"])
    unknown_kid = forge({**header, "kid": "not-a-kid"}, claims, b"\x00" * 256)
    cases = {
        "wrong audience": ([config_for(oidc_provider, audience="http://x.test")], token),
        "wrong issuer": ([config_for(oidc_provider, issuer="https://elsewhere.test")], token),
        "alg none": ([config_for(oidc_provider)], forge({**header, "alg": "none"}, claims)),
        "unknown kid": ([config_for(oidc_provider)], unknown_kid),
        "missing scope": ([config_for(oidc_provider)], oidc_provider.token("attest")),
        "bad signature": (
            [config_for(oidc_provider)],
            token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"),
        ),
        "hs256 public key": ([config_for(oidc_provider)], hs256_forgery(header, claims, rsa_public_pem(jwk))),
    }
    codes = {case: refused_code(configs, t) for case, (configs, t) in cases.items()}
    assert codes["alg none"] == "auth.token_unsigned"
    assert codes["hs256 public key"] == "auth.alg_not_allowed"
    assert len(set(codes.values())) == len(codes), codes  # every refusal says which check failed
