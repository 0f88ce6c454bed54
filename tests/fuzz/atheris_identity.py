"""Coverage-guided fuzzing of identity parsing: Bearer header, JWS token, JWKS, issuer config, API keys.

Run: ``.venv/bin/python tests/fuzz/atheris_identity.py -runs=20000`` (add a corpus directory to keep
findings). A crash is any exception other than AuthenticationError (ConfigError for the issuer
configuration), or a token that authenticates although nobody signed it. Committed crashers become
regression tests in tests/unit/identity.

``import atheris`` is guarded so that importing this file never needs atheris (pytest does not collect
it: no ``test_`` prefix).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time

import httpx
from _atheris import atheris, instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    import jwt
    from jwt.algorithms import ECAlgorithm

    from attestgw.crypto.keys import generate_ec_key
    from attestgw.errors import AuthenticationError, ConfigError
    from attestgw.identity import ApiKeyAuthenticator, IssuerConfig, OidcAuthenticator, mint_api_key
    from attestgw.identity.jwk import parse_jwk_set
    from attestgw.identity.token import bearer_token, parse_unverified_token

ISSUER = "https://issuer.fuzz"
_KEY = generate_ec_key("P-256")
_JWK = {**ECAlgorithm.to_jwk(_KEY.public_key(), as_dict=True), "kid": "k1", "alg": "ES256", "use": "sig"}


def _serve(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("openid-configuration"):
        return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
    return httpx.Response(200, json={"keys": [_JWK]})


LOOP = asyncio.new_event_loop()
AUTH = OidcAuthenticator(
    [IssuerConfig(ISSUER, ("http://gateway.fuzz",))], httpx.AsyncClient(transport=httpx.MockTransport(_serve))
)
API_KEYS = ApiKeyAuthenticator([mint_api_key("svc", key_id="fuzzkey1", n=1 << 14).record])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _structured_token(payload: bytes) -> str:
    """Fuzz bytes as the header and payload JSON of a token, so that the JSON checks are reached."""
    fdp = atheris.FuzzedDataProvider(payload)
    header = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 200))
    claims = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400))
    return f"Bearer {_b64(header)}.{_b64(claims)}.{_b64(fdp.ConsumeBytes(80))}"


def _signed_token(payload: bytes) -> str | None:
    """Fuzz JSON merged into valid claims and really signed, so that the claim checks are reached."""
    try:
        extra = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(extra, dict):
        return None
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "http://gateway.fuzz", "sub": "s", "client_id": "c", "jti": "j"}
    claims.update(iat=now, exp=now + 60)
    claims.update(extra)
    claims["iss"] = ISSUER
    try:
        token = jwt.encode(claims, _KEY, algorithm="ES256", headers={"kid": "k1", "typ": "at+jwt"})
    except (TypeError, ValueError, OverflowError):
        return None
    return f"Bearer {token}"


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 7, data[1:]
    text = payload.decode("utf-8", errors="replace")
    try:
        if selector == 0:
            parse_unverified_token(bearer_token(text))
        elif selector == 1:
            parse_jwk_set(payload)
        elif selector == 2:
            LOOP.run_until_complete(AUTH.authenticate(text))
            raise AssertionError("a token nobody signed was accepted")
        elif selector == 3:
            LOOP.run_until_complete(API_KEYS.authenticate(text))
            raise AssertionError("an API key nobody minted was accepted")
        elif selector == 5:
            LOOP.run_until_complete(AUTH.authenticate(_structured_token(payload)))
            raise AssertionError("a token nobody signed was accepted")
        elif selector == 6:
            header = _signed_token(payload)
            if header is not None:
                LOOP.run_until_complete(AUTH.authenticate(header))  # may succeed: it is really signed
        else:
            with contextlib.suppress(ValueError, RecursionError):
                document = json.loads(payload)
                if isinstance(document, dict):
                    with contextlib.suppress(ConfigError):
                        IssuerConfig.from_mapping(document)
    except AuthenticationError:
        return


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
