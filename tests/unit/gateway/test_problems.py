"""One mapping from the error tree to RFC 9457 problems: statuses, headers, and what never leaks."""

from __future__ import annotations

import json

import pytest

from attestgw.access import Action, Decision
from attestgw.errors import (
    AuthenticationError,
    AuthorizationError,
    FormatError,
    RateLimitedError,
    ServiceUnavailableError,
)
from attestgw.gateway.problems import GATEWAY_STATUS, GatewayError, problem_response, worker_refusal


def _body(response: object) -> dict[str, object]:
    return json.loads(response.body)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "status", "header", "value"),
    [
        (
            AuthenticationError("auth.token_missing", "no token"),
            401,
            "www-authenticate",
            'Bearer realm="attestgw"',
        ),
        (
            AuthenticationError("auth.token_expired", "expired"),
            401,
            "www-authenticate",
            'error="invalid_token"',
        ),
        (AuthenticationError("auth.scope_missing", "scope"), 401, "www-authenticate", "insufficient_scope"),
        (AuthenticationError("auth.issuer_unavailable", "jwks down"), 503, "retry-after", "5"),
        (RateLimitedError("quota.rate_exceeded", "slow down", retry_after=12), 429, "retry-after", "12"),
        (GatewayError("gateway.method_not_allowed", "no", headers={"Allow": "GET"}), 405, "allow", "GET"),
    ],
)
def test_status_and_headers_by_class(error: Exception, status: int, header: str, value: str) -> None:
    response = problem_response(error, "rid-1")
    assert response.status_code == status
    assert value in response.headers[header]
    body = _body(response)
    assert body["status"] == status
    assert body["request_id"] == "rid-1"
    assert body["code"] == error.code  # type: ignore[attr-defined]
    assert response.media_type == "application/problem+json"


@pytest.mark.parametrize(("code", "status"), sorted(GATEWAY_STATUS.items()))
def test_every_gateway_code_has_its_status(code: str, status: int) -> None:
    assert problem_response(GatewayError(code, "x"), "r").status_code == status


def test_a_denial_carries_the_decision_id_and_no_policy_text() -> None:
    decision = Decision("dec-42", False, "digest", Action.INFER, "tiny", policy_ids=("forbid-interns",))
    with pytest.raises(AuthorizationError) as err:
        decision.raise_for_denial()
    body = _body(problem_response(err.value, "r"))
    assert body["status"] == 403
    assert body["decision_id"] == "dec-42"
    assert body["code"] == "access.denied"
    assert "permit(" not in json.dumps(body)
    assert "forbid(" not in json.dumps(body)


def test_unexpected_errors_are_500_with_a_fixed_detail() -> None:
    response = problem_response(RuntimeError("secret internals at 0xdeadbeef"), "r")
    body = _body(response)
    assert response.status_code == 500
    assert body["code"] == "gateway.internal_error"
    assert "deadbeef" not in response.body.decode()


def test_other_service_errors_are_503_and_stray_codes_500() -> None:
    assert problem_response(ServiceUnavailableError("engine.queue_full", "busy"), "r").status_code == 503
    assert problem_response(FormatError("bundle.malformed", "x"), "r").status_code == 500


def test_worker_refusals_pass_on_known_codes_with_the_registered_detail() -> None:
    worker = json.dumps({"code": "ohttp.unknown_key_id", "detail": "<script>"}).encode()
    response = worker_refusal(422, "application/problem+json", worker, "r")
    assert response is not None
    assert response.status_code == 422
    body = _body(response)
    assert body["code"] == "ohttp.unknown_key_id"
    assert "<script>" not in json.dumps(body)
    assert body["type"].endswith("#ohttp-key")


@pytest.mark.parametrize(
    ("status", "ctype", "body"),
    [
        (500, "application/problem+json", b'{"code": "worker.inner_error"}'),  # not a refusal status
        (400, "text/plain", b'{"code": "ohttp.replay"}'),
        (400, "application/json", b"not json"),
        (400, "application/json", b'{"code": "access.denied"}'),  # not a worker family
        (400, "application/json", b'{"code": "ohttp.invented"}'),  # unregistered
        (400, "application/json", b"[1, 2]"),
    ],
)
def test_anything_else_from_a_worker_is_not_passed_on(status: int, ctype: str, body: bytes) -> None:
    assert worker_refusal(status, ctype, body, "r") is None
