"""Parse stage: the Bearer credential and the JWS compact token, before anything is looked up."""

from __future__ import annotations

import pytest

from attestgw.errors import AuthenticationError
from attestgw.identity.token import MAX_TOKEN_CHARS, bearer_token, parse_unverified_token
from tests.unit.identity.issuer import b64url, forge


def test_parse_splits_header_claims_and_signature() -> None:
    token = forge({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, {"iss": "x"}, b"\x01\x02")
    parsed = parse_unverified_token(token)
    assert (parsed.alg, parsed.kid, parsed.typ) == ("ES256", "k1", "at+jwt")
    assert parsed.unverified_claims["iss"] == "x"
    assert parsed.signature == b"\x01\x02"
    assert parsed.signing_input == token.rsplit(".", 1)[0].encode()
    assert token not in repr(parsed)


def test_bearer_token_strips_the_scheme() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("  bearer   abc.def.ghi ") == "abc.def.ghi"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "auth.token_missing"),
        ("", "auth.token_missing"),
        ("Token abc", "auth.token_missing"),
        ("Bearer", "auth.token_malformed"),
        ("Bearer a b", "auth.token_malformed"),
        ("Bearer é.b.c", "auth.token_malformed"),
        ("Bearer " + "a" * (MAX_TOKEN_CHARS + 1), "auth.token_malformed"),
    ],
)
def test_bearer_refusals(header: str | None, code: str) -> None:
    with pytest.raises(AuthenticationError) as exc_info:
        bearer_token(header)
    assert exc_info.value.code == code


def _segment(text: str) -> str:
    return b64url(text.encode())


def raw(header: str, payload: str = "{}", signature: str = "") -> str:
    return f"{_segment(header)}.{_segment(payload)}.{signature}"


RS = '{"alg": "RS256"}'


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        raw("{}"),  # no alg
        raw('{"alg": 5}'),
        raw('{"alg": "RS256", "alg": "none"}'),  # duplicate member
        raw('{"alg": "RS256", "crit": ["x"]}'),
        raw('{"alg": "RS256", "b64": false}'),
        raw('{"alg": "RS256", "kid": 1}'),
        raw('{"alg": "RS256", "typ": null}'),
        raw("[1]"),
        raw(RS, "[]"),
        raw(RS, '{"exp": NaN}'),
        raw(RS, "[" * 5_000),
        raw(RS, '{"n": ' + "9" * 5000 + "}"),
        _segment(RS) + "=." + _segment("{}") + ".",  # padding
        raw(RS, "{}", "A"),  # impossible base64url length
        b64url(b"\xff\xfe") + "." + _segment("{}") + ".",  # not UTF-8
    ],
)
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(AuthenticationError) as exc_info:
        parse_unverified_token(token)
    assert exc_info.value.code == "auth.token_malformed"
