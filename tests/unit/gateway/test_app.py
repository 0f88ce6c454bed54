"""The app without workers (no worker answers here): access checks, problems, request ids, metrics, logs,
OpenAPI and draining, driven through Starlette's TestClient (lifespan included)."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from attestgw.access import Action
from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.gateway import GatewayServices, WorkerPool, create_app, parse_settings
from tests.unit.gateway.local_services import (
    ALICE,
    ALICE_TOKEN,
    BOB,
    BOB_TOKEN,
    AllowList,
    CountingQuotas,
    MemoryRecorder,
    StaticTokens,
)

SETTINGS = b"""
[pool]
policy = "unused.toml"
health_interval_s = 60
attestation_timeout_s = 2
[relay]
connect_timeout_s = 0.5
max_request_bytes = 2048
[[workers]]
url = "http://127.0.0.1:9"
models = ["tiny"]
"""
NONCE = "ab" * 32


@functools.cache
def _policy() -> tuple[SnpPolicy, bytes]:
    # Generating the simulated roots takes seconds: once per test session.
    backend = SimulatedSnpBackend.create(authority_dir=None, enable_simulation=True)
    text = backend.policy_toml().encode()
    return parse_policy(text), text


class Harness:
    def __init__(self, quotas: CountingQuotas | None = None) -> None:
        settings = parse_settings(SETTINGS, environ={})
        self.recorder = MemoryRecorder()
        self.quotas = quotas or CountingQuotas()
        self.log = io.StringIO()
        policy, text = _policy()
        pool = WorkerPool(settings.workers, policy, settings.pool, self.recorder, policy_bytes=text)
        services = GatewayServices(
            authenticator=StaticTokens({ALICE_TOKEN: ALICE, BOB_TOKEN: BOB}),
            authorizer=AllowList({("alice", Action.ATTEST, "tiny"), ("alice", Action.INFER, "tiny")}),
            quotas=self.quotas,
            recorder=self.recorder,
            pool=pool,
            log_stream=self.log,
        )
        self.authorizer = services.authorizer
        self.app = create_app(settings, services)

    def services_allow(self, model: str) -> None:
        self.authorizer.allowed.add(("alice", Action.ATTEST, model))  # type: ignore[attr-defined]


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def client(harness: Harness) -> Iterator[TestClient]:
    with TestClient(harness.app, raise_server_exceptions=False) as c:
        yield c


def _auth(token: str = ALICE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    r = client.get("/v1/attestation", params={"nonce": NONCE, "model": "tiny"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "auth.token_missing"
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_denied_principal_gets_403_with_decision_id_and_the_denial_is_recorded(
    client: TestClient, harness: Harness
) -> None:
    r = client.post(
        "/v1/models/tiny/ohttp",
        content=b"\x01abc",
        headers={**_auth(BOB_TOKEN), "Content-Type": "message/ohttp-req"},
    )
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "access.denied"
    assert body["decision_id"].startswith("dec-")
    denial = harness.recorder.of("authorization.denied")[-1]
    assert denial["principal_digest"] == BOB.digest
    assert denial["code"] == "access.denied"
    assert denial["action"] == "infer"
    assert denial["decision_id"] == body["decision_id"]
    assert "bob" not in json.dumps(denial)


def test_quota_exhaustion_is_429_with_retry_after() -> None:
    harness = Harness(CountingQuotas(max_requests=1))
    with TestClient(harness.app) as client:
        first = client.get("/v1/ohttp-keys", params={"model": "tiny"}, headers=_auth())
        second = client.get("/v1/ohttp-keys", params={"model": "tiny"}, headers=_auth())
    assert first.status_code == 503
    assert first.json()["code"] == "gateway.no_worker"
    assert second.status_code == 429
    assert second.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"nonce": "AB" * 32, "model": "tiny"}, "nonce"),
        ({"nonce": "ab" * 31, "model": "tiny"}, "nonce"),
        ({"model": "tiny"}, "nonce"),
        ({"nonce": NONCE, "model": "a b"}, "model"),
    ],
)
def test_bad_parameters_are_400_request_invalid_not_422(
    client: TestClient, params: dict[str, str], where: str
) -> None:
    r = client.get("/v1/attestation", params=params, headers=_auth())
    assert r.status_code == 400
    assert r.json()["code"] == "gateway.request_invalid"
    assert where in r.json()["detail"]


def test_unknown_model_is_404_and_no_worker_is_503(client: TestClient, harness: Harness) -> None:
    r = client.get("/v1/attestation", params={"nonce": NONCE, "model": "tiny"}, headers=_auth())
    assert r.status_code == 503
    assert r.json()["code"] == "gateway.no_worker"
    harness.services_allow("other")
    r = client.get("/v1/attestation", params={"nonce": NONCE, "model": "other"}, headers=_auth())
    assert r.status_code == 404
    assert r.json()["code"] == "gateway.not_found"


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    r = client.get("/v2/nothing")
    assert r.status_code == 404
    assert r.json()["code"] == "gateway.not_found"
    r = client.delete("/v1/models")
    assert r.status_code == 405
    assert r.json()["code"] == "gateway.method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_sealed_routes_check_media_type_and_size_before_anything_is_sent(client: TestClient) -> None:
    url = "/v1/models/tiny/ohttp"
    r = client.post(url, content=b"\x01" * 10, headers={**_auth(), "Content-Type": "application/json"})
    assert r.status_code == 415
    assert r.json()["code"] == "gateway.unsupported_media_type"
    r = client.post(url, content=b"\x01" * 4096, headers={**_auth(), "Content-Type": "message/ohttp-req"})
    assert r.status_code == 413
    assert r.json()["code"] == "gateway.request_too_large"
    r = client.post(url, content=b"", headers={**_auth(), "Content-Type": "message/ohttp-req"})
    assert r.status_code == 400
    r = client.post(
        url,
        content=b"\x01" * 10,
        headers={**_auth(), "Content-Type": "message/ohttp-req", "Attestgw-Key-Config": "xyz"},
    )
    assert r.status_code == 400
    assert "attestgw-key-config" in r.json()["detail"]


def test_request_ids_are_kept_when_well_formed_and_replaced_otherwise(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-Id": "trace-123.abc"})
    assert r.headers["x-request-id"] == "trace-123.abc"
    r = client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert len(r.headers["x-request-id"]) == 32
    r = client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32


def test_metrics_use_route_templates_and_never_principals_or_tokens(client: TestClient) -> None:
    client.post(
        "/v1/models/some-model-x/ohttp",
        content=b"\x01",
        headers={**_auth(), "Content-Type": "message/ohttp-req"},
    )
    client.get("/no/such/path/9f3b")
    text = client.get("/metrics").text
    assert 'route="/v1/models/{model:path}/ohttp"' in text
    assert 'route="unmatched"' in text
    for leak in ("some-model-x", "9f3b", ALICE_TOKEN, ALICE.subject, ALICE.digest):
        assert leak not in text


def test_logs_are_json_with_request_ids_and_no_secrets(client: TestClient, harness: Harness) -> None:
    client.get("/v1/ohttp-keys", params={"model": "tiny"}, headers={**_auth(), "X-Request-Id": "req-77"})
    client.get("/v1/ohttp-keys", params={"model": "tiny"}, headers=_auth("Bearer-garbage-token-zz"))
    lines = [json.loads(line) for line in harness.log.getvalue().splitlines()]
    assert any(line.get("request_id") == "req-77" and line["event"] == "request" for line in lines)
    text = harness.log.getvalue()
    assert ALICE_TOKEN not in text
    assert "garbage-token-zz" not in text


def test_readyz_is_503_until_a_worker_is_admitted(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["code"] == "gateway.no_worker"


def test_models_lists_only_what_the_caller_may_list(client: TestClient) -> None:
    assert client.get("/v1/models", headers=_auth()).json() == {"object": "list", "data": []}
    assert client.get("/v1/models").status_code == 401


def test_openapi_documents_routes_content_types_and_problems_without_422(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) >= {
        "/v1/attestation",
        "/v1/ohttp-keys",
        "/v1/models/{model}/ohttp",
        "/v1/models/{model}/ohttp-chunked",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    sealed = paths["/v1/models/{model}/ohttp"]["post"]
    assert "message/ohttp-req" in sealed["requestBody"]["content"]
    assert "message/ohttp-res" in sealed["responses"]["200"]["content"]
    assert (
        "message/ohttp-chunked-res"
        in paths["/v1/models/{model}/ohttp-chunked"]["post"]["responses"]["200"]["content"]
    )
    assert "application/ohttp-keys" in paths["/v1/ohttp-keys"]["get"]["responses"]["200"]["content"]
    for status in ("401", "403", "429", "502", "503", "504", "413", "415"):
        assert "application/problem+json" in sealed["responses"][status]["content"]
    assert "HTTPValidationError" not in json.dumps(doc)


def test_draining_refuses_new_requests_but_not_health(client: TestClient, harness: Harness) -> None:
    harness.app.state.lifecycle.begin_drain()
    r = client.get("/v1/models", headers=_auth())
    assert r.status_code == 503
    assert r.json()["code"] == "gateway.shutting_down"
    assert r.headers["connection"] == "close"
    assert client.get("/healthz").status_code == 200
