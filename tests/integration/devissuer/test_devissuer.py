"""The demo's development issuer: its tokens pass the gateway's real RFC 9068 verification, over loopback."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("starlette", reason="the dev issuer is a Starlette app")
pytest.importorskip("uvicorn", reason="the dev issuer runs under uvicorn")

from attestgw.devissuer import DevClient, DevIssuer
from attestgw.errors import AuthenticationError
from attestgw.identity.config import IssuerConfig
from attestgw.identity.oidc import OidcAuthenticator
from tests.integration.worker.server import UvicornThread

AUDIENCE = "http://gateway.test"
CLIENT = DevClient("demo", "s3cret", "alice", tenant="acme", groups=("attestgw-users",))


@pytest.fixture(scope="module")
def issuer() -> Iterator[DevIssuer]:
    dev = DevIssuer("http://pending", AUDIENCE, [CLIENT])
    with UvicornThread(dev.app()) as server:
        dev.serve_at(server.url)
        yield dev


def _authenticate(dev: DevIssuer, token: str) -> object:
    config = IssuerConfig.from_mapping(
        {"issuer": dev.issuer, "audience": AUDIENCE, "tenant_claim": "tenant", "groups_claim": "groups"}
    )

    async def run() -> object:
        async with httpx.AsyncClient() as http:
            return await OidcAuthenticator([config], http_client=http).authenticate(f"Bearer {token}")

    return asyncio.run(run())


def test_client_credentials_tokens_verify_like_any_issuers(issuer: DevIssuer) -> None:
    basic = base64.b64encode(b"demo:s3cret").decode()
    answer = httpx.post(
        issuer.issuer + "/token",
        content=b"grant_type=client_credentials",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    principal = _authenticate(issuer, answer.json()["access_token"])
    assert principal.subject == "alice"  # type: ignore[attr-defined]
    assert principal.tenant == "acme"  # type: ignore[attr-defined]
    assert principal.groups == ("attestgw-users",)  # type: ignore[attr-defined]


def test_wrong_secrets_and_grants_are_refused(issuer: DevIssuer) -> None:
    wrong = httpx.post(
        issuer.issuer + "/token",
        data={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "no"},
    )
    assert wrong.status_code == 401
    grant = httpx.post(
        issuer.issuer + "/token",
        data={"grant_type": "password", "client_id": "demo", "client_secret": "s3cret"},
    )
    assert grant.status_code == 400


def test_a_token_for_another_audience_is_refused(issuer: DevIssuer) -> None:
    with pytest.raises(AuthenticationError) as err:
        _authenticate(issuer, issuer.mint("bob", audience="http://elsewhere"))
    assert err.value.code == "auth.wrong_audience"
