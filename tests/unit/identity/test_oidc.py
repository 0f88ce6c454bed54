"""OidcAuthenticator: every header and claim check refused with its own code (fake issuer, local keys)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity import TYP_RELAXED, OidcAuthenticator, Principal
from tests.unit.identity.issuer import (
    AUDIENCE,
    ISSUER,
    FakeIssuer,
    SigningKey,
    config,
    forge,
    hs256_forgery,
    rsa_public_pem,
)

FAKE = FakeIssuer()


def authenticate(header: str | None, fake: FakeIssuer = FAKE, **config_overrides: Any) -> Principal:
    async def main() -> Principal:
        async with httpx.AsyncClient(transport=fake.transport) as client:
            auth = OidcAuthenticator([config(**config_overrides)], client)
            return await auth.authenticate(header)

    return asyncio.run(main())


def refused(header: str | None, **config_overrides: Any) -> str:
    with pytest.raises(AuthenticationError) as exc_info:
        authenticate(header, **config_overrides)
    return exc_info.value.code


def bearer(token: str) -> str:
    return "Bearer " + token


# -- accepted ------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_valid_token_yields_the_principal_from_its_claims(alg: str) -> None:
    principal = authenticate(bearer(FAKE.token(alg)))
    assert principal.subject == "user-123"
    assert principal.issuer == ISSUER
    assert principal.tenant == "acme"
    assert principal.groups == ("researchers", "ops")
    assert principal.roles == ("operator",)
    assert principal.scopes == frozenset({"infer", "attest"})
    assert principal.client_id == "client-abc"
    assert principal.opt_ins == frozenset()
    assert principal.expires_at is not None
    assert principal.expires_at > datetime.now(UTC)


def test_configurable_and_dotted_claim_paths() -> None:
    token = FAKE.token(
        realm_access={"roles": ["admin", "viewer"]},
        org={"id": "tenant-9"},
        **{"https://example.com/groups": ["g1"]},
    )
    principal = authenticate(
        bearer(token),
        roles_claim="realm_access.roles",
        tenant_claim="org.id",
        groups_claim="https://example.com/groups",
    )
    assert (principal.roles, principal.tenant, principal.groups) == (("admin", "viewer"), "tenant-9", ("g1",))


def test_scp_list_and_audience_list_are_accepted() -> None:
    token = FAKE.token(scope=None, scp=["infer", "read_log"], aud=["http://other.test", AUDIENCE])
    principal = authenticate(bearer(token), required_scopes=frozenset({"infer"}))
    assert principal.scopes == frozenset({"infer", "read_log"})


def test_leeway_accepts_a_token_expired_within_it() -> None:
    token = FAKE.token(exp=int(time.time()) - 30)
    assert authenticate(bearer(token), leeway_s=60).subject == "user-123"
    assert refused(bearer(token), leeway_s=0) == "auth.token_expired"


def test_bearer_scheme_is_case_insensitive() -> None:
    assert authenticate("bEaReR " + FAKE.token()).subject == "user-123"


def test_relaxed_typ_is_an_explicit_opt_in_recorded_in_the_principal() -> None:
    for typ in (None, "JWT"):
        token = FAKE.token(header={"typ": typ})
        assert refused(bearer(token)) == "auth.wrong_token_type"
        principal = authenticate(bearer(token), require_at_jwt_typ=False)
        assert principal.opt_ins == frozenset({TYP_RELAXED})
    assert authenticate(bearer(FAKE.token()), require_at_jwt_typ=False).opt_ins == frozenset()
    # Relaxing still refuses other token types (an ID token's, a DPoP proof's).
    assert refused(bearer(FAKE.token(header={"typ": "dpop+jwt"})), require_at_jwt_typ=False) == (
        "auth.wrong_token_type"
    )


# -- refused: header and key -----------------------------------------------------------------------


def _unsigned() -> str:
    return forge(FAKE.header("none"), FAKE.claims())


def _hs256_with_public_key() -> str:
    pem = rsa_public_pem(FAKE.keys["RS256"].public_jwk)
    return hs256_forgery(FAKE.header("RS256"), FAKE.claims(), pem)


def _tampered() -> str:
    header, _, signature = FAKE.token().split(".")
    other = FAKE.token(sub="admin").split(".")[1]
    return f"{header}.{other}.{signature}"


def _pinned_key_other_alg() -> str:
    # The RS256 key's JWK says alg RS256; a PS256 token naming that kid must not be verified with it.
    return FAKE.token("PS256", key=FAKE.keys["RS256"])


HEADER_CASES: list[tuple[str, Any, dict[str, Any], str]] = [
    ("no header", lambda: None, {}, "auth.token_missing"),
    ("empty header", lambda: "   ", {}, "auth.token_missing"),
    ("basic scheme", lambda: "Basic dXNlcjpwYXNz", {}, "auth.token_missing"),
    ("bearer without token", lambda: "Bearer", {}, "auth.token_malformed"),
    ("two tokens", lambda: "Bearer a.b.c d.e.f", {}, "auth.token_malformed"),
    ("two segments", lambda: "Bearer abc.def", {}, "auth.token_malformed"),
    ("JWE (five segments)", lambda: "Bearer a.b.c.d.e", {}, "auth.token_malformed"),
    ("header not JSON", lambda: "Bearer bm90IGpzb24.e30.", {}, "auth.token_malformed"),
    ("oversized", lambda: "Bearer " + "a" * 20_000, {}, "auth.token_malformed"),
    ("crit header", lambda: bearer(FAKE.token(header={"crit": ["exp"]})), {}, "auth.token_malformed"),
    ("alg none", lambda: bearer(_unsigned()), {}, "auth.token_unsigned"),
    ("HS256 keyed with the public key", lambda: bearer(_hs256_with_public_key()), {}, "auth.alg_not_allowed"),
    (
        "alg off the allow-list",
        lambda: bearer(FAKE.token("EdDSA")),
        {"algorithms": ("RS256",)},
        "auth.alg_not_allowed",
    ),
    ("key pinned to another alg", lambda: bearer(_pinned_key_other_alg()), {}, "auth.alg_not_allowed"),
    ("wrong issuer", lambda: bearer(FAKE.token(iss="https://evil.test")), {}, "auth.wrong_issuer"),
    ("issuer differs by a slash", lambda: bearer(FAKE.token(iss=ISSUER + "/")), {}, "auth.wrong_issuer"),
    ("no iss", lambda: bearer(FAKE.token(iss=None)), {}, "auth.claim_missing"),
    ("typ JWT", lambda: bearer(FAKE.token(header={"typ": "JWT"})), {}, "auth.wrong_token_type"),
    ("unknown kid", lambda: bearer(FAKE.token("ES256", key=SigningKey("ES256"))), {}, "auth.unknown_kid"),
    ("tampered payload", lambda: bearer(_tampered()), {}, "auth.signature_invalid"),
    ("truncated signature", lambda: bearer(FAKE.token("ES256")[:-10]), {}, "auth.signature_invalid"),
]


@pytest.mark.parametrize(
    ("case", "header", "overrides", "expected"), HEADER_CASES, ids=[c[0] for c in HEADER_CASES]
)
def test_header_and_signature_refusals(
    case: str, header: Any, overrides: dict[str, Any], expected: str
) -> None:
    assert refused(header(), **overrides) == expected


def test_alg_none_and_hs256_are_refused_before_any_key_fetch() -> None:
    fake = FakeIssuer()
    for token in (
        forge(fake.header("none"), fake.claims()),
        hs256_forgery(fake.header(), fake.claims(), b"k"),
    ):
        with pytest.raises(AuthenticationError):
            authenticate(bearer(token), fake=fake)
    assert fake.requests == []


def test_malformed_token_never_triggers_a_key_lookup() -> None:
    fake = FakeIssuer()
    with pytest.raises(AuthenticationError):
        authenticate("Bearer x.y.z", fake=fake)
    assert fake.requests == []


# -- refused: claims ------------------------------------------------------------------------------

NOW = int(time.time())
CLAIM_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("expired", {"exp": NOW - 120}, {}, "auth.token_expired"),
    ("exp not a number", {"exp": "tomorrow"}, {}, "auth.claim_missing"),
    ("exp a boolean", {"exp": True}, {}, "auth.claim_missing"),
    ("exp beyond year 9999", {"exp": 10**15}, {}, "auth.claim_missing"),
    ("no exp", {"exp": None}, {}, "auth.claim_missing"),
    ("nbf in the future", {"nbf": NOW + 600}, {}, "auth.token_not_yet_valid"),
    ("iat in the future", {"iat": NOW + 600}, {}, "auth.token_not_yet_valid"),
    ("no iat", {"iat": None}, {}, "auth.claim_missing"),
    ("wrong audience", {"aud": "http://other.test"}, {}, "auth.wrong_audience"),
    ("audience list without ours", {"aud": ["a", "b"]}, {}, "auth.wrong_audience"),
    ("aud wrong type", {"aud": 7}, {}, "auth.claim_missing"),
    ("no aud", {"aud": None}, {}, "auth.claim_missing"),
    ("no sub", {"sub": None}, {}, "auth.claim_missing"),
    ("empty sub", {"sub": ""}, {}, "auth.claim_missing"),
    ("no client_id", {"client_id": None}, {}, "auth.claim_missing"),
    ("no jti", {"jti": None}, {}, "auth.claim_missing"),
    ("required claim absent", {}, {"required_claims": ("acr",)}, "auth.claim_missing"),
    ("required dotted claim absent", {"org": {}}, {"required_claims": ("org.id",)}, "auth.claim_missing"),
    ("missing scope", {"scope": "attest"}, {"required_scopes": frozenset({"infer"})}, "auth.scope_missing"),
    ("no scope at all", {"scope": None}, {"required_scopes": frozenset({"infer"})}, "auth.scope_missing"),
    ("scope not a string", {"scope": ["infer"]}, {}, "auth.claim_missing"),
    ("tenant not a string", {"tenant": ["acme"]}, {}, "auth.claim_missing"),
    ("groups not a list", {"groups": "researchers"}, {}, "auth.claim_missing"),
    ("roles hold a number", {"roles": ["ok", 3]}, {}, "auth.claim_missing"),
]


@pytest.mark.parametrize(
    ("case", "claims", "overrides", "expected"), CLAIM_CASES, ids=[c[0] for c in CLAIM_CASES]
)
def test_claim_refusals(case: str, claims: dict[str, Any], overrides: dict[str, Any], expected: str) -> None:
    assert refused(bearer(FAKE.token(**claims)), **overrides) == expected


def test_refusal_messages_never_carry_the_token_or_the_subject() -> None:
    secretish = "subject-4f1d9c"
    token = FAKE.token(sub=secretish, aud="http://other.test")
    with pytest.raises(AuthenticationError) as exc_info:
        authenticate(bearer(token))
    text = str(exc_info.value) + repr(exc_info.value)
    assert token not in text
    assert secretish not in text
    assert token.split(".")[2] not in text


def test_authenticator_configuration_is_validated() -> None:
    with pytest.raises(ConfigError) as exc_info:
        OidcAuthenticator([])
    assert exc_info.value.code == "config.issuer_invalid"
    with pytest.raises(ConfigError, match="configured twice"):
        OidcAuthenticator([config(), config()])
