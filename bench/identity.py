"""Benchmark: the gateway's per-request authentication cost, in one process.

    .venv/bin/python bench/identity.py [--rounds N]

Measures ``OidcAuthenticator.authenticate()`` for a valid RFC 9068 access token whose issuer key is
already cached (the steady state), per signing algorithm (RS256 with RSA-2048, PS256, ES256, EdDSA),
and ``ApiKeyAuthenticator.authenticate()`` for a remembered API key. The JWKS is served once through an
``httpx.MockTransport`` (no network). Prints medians in µs; asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from attestgw.crypto.keys import generate_ec_key
from attestgw.crypto.note_keys import ed25519_generate_seed, ed25519_public_key
from attestgw.crypto.signing import generate_rsa_key
from attestgw.identity import ApiKeyAuthenticator, IssuerConfig, OidcAuthenticator, mint_api_key

ISSUER = "https://issuer.bench"
AUDIENCE = "http://gateway.bench"


def _keys() -> dict[str, tuple[Any, dict[str, Any]]]:
    rsa = generate_rsa_key(2048)
    ec = generate_ec_key("P-256")
    seed = ed25519_generate_seed()
    x = jwt.utils.base64url_encode(ed25519_public_key(seed)).decode()
    d = jwt.utils.base64url_encode(seed).decode()
    okp = OKPAlgorithm.from_jwk({"kty": "OKP", "crv": "Ed25519", "d": d, "x": x})
    return {
        "RS256": (rsa, RSAAlgorithm.to_jwk(rsa.public_key(), as_dict=True)),
        "PS256": (rsa, RSAAlgorithm.to_jwk(rsa.public_key(), as_dict=True)),
        "ES256": (ec, ECAlgorithm.to_jwk(ec.public_key(), as_dict=True)),
        "EdDSA": (okp, {"kty": "OKP", "crv": "Ed25519", "x": x}),
    }


async def _run(rounds: int) -> None:
    keys = _keys()
    jwks = {"keys": [{**jwk, "kid": alg, "use": "sig"} for alg, (_, jwk) in keys.items()]}

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        return httpx.Response(200, json=jwks)

    now = int(time.time())
    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
        # signature memory off: every call parses and verifies (a token seen for the first time)
        first_use = OidcAuthenticator([IssuerConfig(ISSUER, (AUDIENCE,))], client, verified_ttl_s=0)
        # the gateway's default: a repeated token skips the signature check, not the claim checks
        repeated = OidcAuthenticator([IssuerConfig(ISSUER, (AUDIENCE,))], client)
        for alg, (private, _) in keys.items():
            claims = {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "user",
                "client_id": "c",
                "jti": "j",
                "iat": now,
                "exp": now + 3600,
                "scope": "infer",
                "tenant": "acme",
                "groups": ["g"],
            }
            header = "Bearer " + jwt.encode(
                claims, private, algorithm=alg, headers={"kid": alg, "typ": "at+jwt"}
            )
            for label, auth in (("first use, cached key", first_use), ("repeated token", repeated)):
                await auth.authenticate(header)  # warm: discovery + JWKS fetched once
                samples = []
                for _ in range(rounds):
                    t0 = time.perf_counter_ns()
                    await auth.authenticate(header)
                    samples.append((time.perf_counter_ns() - t0) / 1000)
                median = statistics.median(samples)
                print(f"oidc authenticate() {alg:6s} {label:<22} median {median:8.1f} µs")

    minted = mint_api_key("svc")
    api_keys = ApiKeyAuthenticator([minted.record])
    header = "Bearer " + minted.token
    t0 = time.perf_counter_ns()
    await api_keys.authenticate(header)
    first = (time.perf_counter_ns() - t0) / 1000
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        await api_keys.authenticate(header)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    print(f"api key authenticate() first (scrypt n=2^15)     {first:8.1f} µs")
    print(f"api key authenticate() remembered      median {statistics.median(samples):8.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    asyncio.run(_run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
