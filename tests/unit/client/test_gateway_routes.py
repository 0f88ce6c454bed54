"""The SDK through a gateway: one route shape, the bearer token, the model, and the gateway's refusals."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from attestgw.client import AttestedTransport, attest, attestation_url
from attestgw.client._problems import refusal
from attestgw.errors import (
    AuthenticationError,
    AuthorizationError,
    FormatError,
    RateLimitedError,
    ServiceUnavailableError,
    UsageError,
)
from tests.unit.client.simulated_worker import SimulatedWorkerKeys
from tests.unit.client.test_transport import ANSWER, FakeWorker

TOKEN = "eyJ.secret-token.value"


class GatewayDouble(FakeWorker):
    """The fake worker behind gateway-shaped routes that demand a bearer token and record what came."""

    def __init__(self, keys: SimulatedWorkerKeys) -> None:
        super().__init__(keys)
        self.seen: list[tuple[str, str | None, str]] = []
        self.key_configs: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, request.headers.get("authorization"), request.url.query.decode()))
        self.key_configs.append(request.headers.get("attestgw-key-config"))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401, headers={"content-type": "application/problem+json"}, json={"code": "auth.token_missing"}
            )
        return super().__call__(request)


def test_attestation_url_names_the_model_only_when_given() -> None:
    nonce = bytes(range(32))
    assert attestation_url("http://g/", nonce) == f"http://g/v1/attestation?nonce={nonce.hex()}"
    assert attestation_url("http://g", nonce, "org/m 1").endswith("&model=org%2Fm%201")


def test_the_token_goes_with_every_outer_request_and_routes_carry_the_model() -> None:
    gateway = GatewayDouble(SimulatedWorkerKeys())
    transport = AttestedTransport(
        "http://g.test",
        gateway.keys.policy(),
        transport=httpx.MockTransport(gateway),
        model="tiny",
        token=TOKEN,
    )
    with httpx.Client(transport=transport) as client:
        assert client.get("http://worker/v1/models").content == ANSWER
    paths = [path for path, _, _ in gateway.seen]
    assert paths == ["/v1/attestation", "/v1/models/tiny/ohttp"]
    assert all(auth == f"Bearer {TOKEN}" for _, auth, _ in gateway.seen)
    assert "model=tiny" in gateway.seen[0][2]
    assert TOKEN not in repr(transport)
    # the sealed POST names the attested key config, so a gateway routes it to the worker holding it
    session = transport.session()
    assert gateway.key_configs[1] == hashlib.sha256(session.ohttp_keys).hexdigest()


def test_no_token_is_refused_as_authentication_before_anything_is_sealed() -> None:
    gateway = GatewayDouble(SimulatedWorkerKeys())
    with pytest.raises(AuthenticationError) as err:
        attest(
            "http://g.test",
            gateway.keys.policy(),
            http_client=httpx.Client(transport=httpx.MockTransport(gateway)),
        )
    assert err.value.code == "auth.token_missing"
    assert [path for path, _, _ in gateway.seen] == ["/v1/attestation"]


def test_a_model_the_worker_does_not_announce_is_refused() -> None:
    gateway = GatewayDouble(SimulatedWorkerKeys())
    client = httpx.Client(transport=httpx.MockTransport(gateway))
    with pytest.raises(FormatError) as err:
        attest("http://g.test", gateway.keys.policy(), http_client=client, model="other", token=TOKEN)
    assert err.value.code == "worker.model_mismatch"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "auth.token_expired", AuthenticationError),
        (403, "access.denied", AuthorizationError),
        (429, "quota.rate_exceeded", RateLimitedError),
        (503, "gateway.no_worker", ServiceUnavailableError),
        (502, "gateway.upstream_failed", ServiceUnavailableError),
        (415, "gateway.unsupported_media_type", UsageError),
    ],
)
def test_gateway_refusals_keep_their_code_and_class(status: int, code: str, kind: type[Exception]) -> None:
    body = f'{{"code": "{code}", "detail": "x"}}'.encode()
    err = refusal(status, "application/problem+json", body, retry_after="7")
    assert isinstance(err, kind)
    assert err.code == code  # type: ignore[attr-defined]
    if isinstance(err, RateLimitedError):
        assert err.retry_after == 7


def test_an_unknown_or_unregistered_code_is_a_plain_worker_refusal() -> None:
    err = refusal(400, "application/problem+json", b'{"code": "auth.made_up"}')
    assert isinstance(err, FormatError)
    assert err.code == "worker.refused"
