"""Fuzz properties of identity: whatever a caller sends, only AuthenticationError escapes.

Covers the ``Authorization`` header (arbitrary text, and token-shaped strings built from arbitrary JSON
headers and claims that name the configured issuer, so key lookup, signature and claim checks run), the
JWKS parser (arbitrary bytes and arbitrary key objects), issuer configuration (only ConfigError), and
API key tokens. Never ``KeyError``, ``TypeError``, ``OverflowError``, a recursion error or a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity import ApiKeyAuthenticator, IssuerConfig, OidcAuthenticator, mint_api_key
from attestgw.identity.jwk import parse_jwk_set
from attestgw.identity.token import parse_unverified_token
from tests.unit.identity.issuer import AUDIENCE, ISSUER, FakeIssuer, b64url, config, forge

FAKE = FakeIssuer()
KEY = mint_api_key("svc", n=1 << 14)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=6,
)
header_values = {
    "alg": st.sampled_from(["RS256", "PS256", "ES256", "EdDSA", "none", "HS256", "RS512", "", "ES512"])
    | json_values,
    "typ": st.sampled_from(["at+jwt", "application/at+jwt", "JWT", "AT+JWT"]) | json_values,
    "kid": st.sampled_from([k.kid for k in FAKE.keys.values()] + ["unknown"]) | json_values,
    "crit": json_values,
}
claim_values = {
    "iss": st.sampled_from([ISSUER, ISSUER + "/", "x"]) | json_values,
    "aud": st.sampled_from([AUDIENCE, [AUDIENCE, "x"], []]) | json_values,
    "exp": st.integers(min_value=-(10**20), max_value=10**20) | json_values,
    "nbf": json_values,
    "iat": st.integers(min_value=0, max_value=2**40) | json_values,
    "sub": json_values,
    "client_id": json_values,
    "jti": json_values,
    "scope": st.text(max_size=30) | json_values,
    "scp": json_values,
    "tenant": json_values,
    "groups": json_values,
    "roles": json_values,
}


def _partial(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=values)


token_shaped = st.builds(
    forge,
    _partial(header_values),
    _partial(claim_values),
    st.binary(max_size=300),
)
signed_then_mutated = st.builds(
    lambda alg, overrides: FAKE.token(alg, **overrides),
    st.sampled_from(["RS256", "PS256", "ES256", "EdDSA"]),
    _partial({name: strategy for name, strategy in claim_values.items() if name != "iss"}),
)


# One loop and one authenticator for every example: the JWKS is fetched once, the checks run each time.
LOOP = asyncio.new_event_loop()
AUTH = OidcAuthenticator(
    [config(required_scopes=frozenset({"infer"}))], httpx.AsyncClient(transport=FAKE.transport)
)


def _authenticate_only_auth_errors(header: str) -> None:
    async def main() -> None:
        with contextlib.suppress(AuthenticationError):
            await AUTH.authenticate(header)

    LOOP.run_until_complete(main())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_authorization_header_raises_only_authentication_error(header: str) -> None:
    _authenticate_only_auth_errors(header)
    _authenticate_only_auth_errors("Bearer " + header)


@settings(max_examples=200, deadline=None)
@given(token_shaped | signed_then_mutated)
def test_token_shaped_input_raises_only_authentication_error(token: str) -> None:
    _authenticate_only_auth_errors("Bearer " + token)


@settings(max_examples=100, deadline=None)
@given(_partial(header_values), _partial(claim_values))
def test_parse_round_trips_what_it_accepts(header: dict[str, Any], claims: dict[str, Any]) -> None:
    token = forge(header, claims, b"sig")
    try:
        parsed = parse_unverified_token(token)
    except AuthenticationError:
        return
    assert dict(parsed.unverified_header) == json.loads(json.dumps(header))
    assert dict(parsed.unverified_claims) == json.loads(json.dumps(claims))
    assert parsed.signature == b"sig"


jwk_members = {
    "kty": st.sampled_from(["RSA", "EC", "OKP", "oct"]) | json_values,
    "crv": st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "Ed448", "X25519"]) | json_values,
    "x": st.binary(max_size=70).map(b64url) | json_values,
    "y": st.binary(max_size=70).map(b64url) | json_values,
    "n": st.binary(max_size=300).map(b64url) | json_values,
    "e": st.sampled_from(["AQAB", "Aw", ""]) | json_values,
    "kid": json_values,
    "use": st.sampled_from(["sig", "enc"]) | json_values,
    "alg": st.sampled_from(["RS256", "ES256", "EdDSA", "HS256"]) | json_values,
}


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=500),
        st.lists(_partial(jwk_members), max_size=4).map(lambda keys: json.dumps({"keys": keys}).encode()),
    )
)
def test_jwks_parser_raises_only_authentication_error(data: bytes) -> None:
    try:
        keys = parse_jwk_set(data)
    except AuthenticationError as exc:
        code = exc.code
    else:
        code = None
    if code is not None:
        assert code == "auth.issuer_unavailable"
        return
    for key in keys.keys:  # whatever was kept must verify or refuse cleanly
        for alg in key.algorithms:
            assert key.verify(alg, b"x.y", b"\x00" * 64) is False


config_members = {
    "issuer": st.sampled_from(["https://idp.test", "http://127.0.0.1:1", "http://idp.test"]) | json_values,
    "audience": st.sampled_from(["gw", ["gw"]]) | json_values,
    "algorithms": st.lists(st.sampled_from(["RS256", "HS256", "none", "ES256"]), max_size=3) | json_values,
    "required_scopes": json_values,
    "tenant_claim": json_values,
    "leeway_s": json_values,
    "required_claims": json_values,
    "require_at_jwt_typ": json_values,
    "jwks_uri": json_values,
    "jwks_cache": json_values,
}


@settings(max_examples=150, deadline=None)
@given(_partial(config_members))
def test_issuer_config_raises_only_config_error(data: dict[str, Any]) -> None:
    try:
        config_obj = IssuerConfig.from_mapping(data)
    except ConfigError as exc:
        code = exc.code
    else:
        code = None
    if code is not None:
        assert code == "config.issuer_invalid"
        return
    assert "none" not in config_obj.algorithms
    assert not any(alg.upper().startswith("HS") for alg in config_obj.algorithms)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=120)
    | st.text(alphabet="agw_0123456789abcdefXYZ-", max_size=80).map(lambda s: "agw_" + s)
)
def test_api_key_tokens_raise_only_authentication_error(token: str) -> None:
    auth = ApiKeyAuthenticator([KEY.record])
    with pytest.raises(AuthenticationError):
        asyncio.run(auth.authenticate("Bearer " + token))
