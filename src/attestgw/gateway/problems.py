"""Errors → RFC 9457 problem details, in one place, for every answer the gateway makes itself.

Body: ``{"type", "title", "status", "detail", "code", "request_id"}`` (plus ``decision_id`` on a 403),
``Content-Type: application/problem+json``. ``type`` is ``about:blank`` (so ``title`` is the status
phrase), except for the worker's key-configuration refusals, which keep RFC 9458's ``…#ohttp-key``.

Status by class, then by code:

* :class:`~attestgw.errors.AuthenticationError` → 401 with ``WWW-Authenticate: Bearer …`` (no
  ``error`` when no token was sent, RFC 6750 §3.1; ``insufficient_scope`` for ``auth.scope_missing``;
  ``invalid_token`` otherwise); ``auth.issuer_unavailable`` → 503;
* :class:`~attestgw.errors.AuthorizationError` → 403 with its ``decision_id`` (never policy text);
* :class:`~attestgw.errors.RateLimitedError` → 429 with ``Retry-After``;
* ``gateway.*`` → the table :data:`GATEWAY_STATUS`;
* the worker's outer refusals the gateway passes on (``ohttp.*``, ``hpke.*``, ``bhttp.*``,
  ``worker.*``) → the worker's own status (see :func:`worker_refusal`);
* any other :class:`~attestgw.errors.ServiceUnavailableError` → 503; anything else → 500
  ``gateway.internal_error`` with a fixed detail (the message could carry internals).

``detail`` is the error's message for errors the gateway raises itself (they never contain a token,
a body or plaintext: the gateway has none of the latter), and the code's registered description for
codes that came from a worker or an unexpected failure.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from attestgw.errors import (
    CODES,
    AttestgwError,
    AuthenticationError,
    AuthorizationError,
    RateLimitedError,
    ServiceUnavailableError,
)

__all__ = [
    "GATEWAY_STATUS",
    "KEY_PROBLEM_TYPE",
    "PROBLEM_MEDIA_TYPE",
    "GatewayError",
    "problem_body",
    "problem_for",
    "problem_response",
    "worker_refusal",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
KEY_PROBLEM_TYPE = "https://iana.org/assignments/http-problem-types#ohttp-key"
_INTERNAL = "gateway.internal_error"

#: HTTP status of each ``gateway.*`` code.
GATEWAY_STATUS: dict[str, int] = {
    "gateway.request_invalid": 400,
    "gateway.not_found": 404,
    "gateway.method_not_allowed": 405,
    "gateway.request_too_large": 413,
    "gateway.unsupported_media_type": 415,
    "gateway.internal_error": 500,
    "gateway.upstream_failed": 502,
    "gateway.no_worker": 503,
    "gateway.shutting_down": 503,
    "gateway.upstream_timeout": 504,
}
#: Outer refusals of a worker (docs/worker.md) that the gateway passes on with the worker's status.
_WORKER_STATUSES = frozenset({400, 413, 415, 422})
_WORKER_PREFIXES = ("ohttp.", "hpke.", "bhttp.", "worker.", "usage.")
_KEY_CODES = frozenset({"ohttp.unknown_key_id", "hpke.suite_unsupported"})


class GatewayError(ServiceUnavailableError):
    """A refusal of the gateway's own (``gateway.*``); the status comes from :data:`GATEWAY_STATUS`.

    ``headers`` are added to the problem response (e.g. ``Allow`` on a 405).
    """

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message)
        self.headers = dict(headers or {})


def problem_body(
    code: str, status: int, detail: str, request_id: str, *, extra: dict[str, Any] | None = None
) -> bytes:
    """The problem+json bytes (keys sorted, ASCII)."""
    body: dict[str, Any] = {
        "type": KEY_PROBLEM_TYPE if code in _KEY_CODES else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    body.update(extra or {})
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def _www_authenticate(code: str) -> str:
    if code == "auth.token_missing":
        return 'Bearer realm="attestgw"'
    error = "insufficient_scope" if code == "auth.scope_missing" else "invalid_token"
    return f'Bearer realm="attestgw", error="{error}"'


def problem_for(error: BaseException) -> tuple[int, str, str, dict[str, str], dict[str, Any]]:
    """``(status, code, detail, headers, extra body fields)`` for ``error`` (see module docstring)."""
    if not isinstance(error, AttestgwError):
        return 500, _INTERNAL, CODES[_INTERNAL], {}, {}
    code, detail = error.code, error.message
    if isinstance(error, AuthenticationError):
        if code == "auth.issuer_unavailable":
            return 503, code, detail, {"Retry-After": "5"}, {}
        return 401, code, detail, {"WWW-Authenticate": _www_authenticate(code)}, {}
    if isinstance(error, AuthorizationError):
        return 403, code, detail, {}, {"decision_id": error.decision_id}
    if isinstance(error, RateLimitedError):
        return 429, code, detail, {"Retry-After": str(error.retry_after)}, {}
    if isinstance(error, GatewayError) and code in GATEWAY_STATUS:
        return GATEWAY_STATUS[code], code, detail, error.headers, {}
    if isinstance(error, ServiceUnavailableError):
        return 503, code, detail, {}, {}
    return 500, _INTERNAL, CODES[_INTERNAL], {}, {}


def problem_response(error: BaseException, request_id: str) -> Response:
    """The problem+json response for ``error``."""
    status, code, detail, headers, extra = problem_for(error)
    return Response(
        problem_body(code, status, detail, request_id, extra=extra),
        status_code=status,
        headers={**headers, "Cache-Control": "no-store"},
        media_type=PROBLEM_MEDIA_TYPE,
    )


def worker_refusal(status: int, content_type: str, body: bytes, request_id: str) -> Response | None:
    """Re-issue a worker's outer refusal under the gateway's problem shape, or ``None`` if it is not one.

    Only the worker's ``code`` is read, and only a registered code of the worker's families with one
    of the statuses the worker uses for refusals (400, 413, 415, 422) is passed on; the detail is the
    code's registered description. Anything else is the caller's ``gateway.upstream_failed``.
    """
    if status not in _WORKER_STATUSES or not content_type.split(";", maxsplit=1)[0].strip().endswith("json"):
        return None
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    code = problem.get("code") if isinstance(problem, dict) else None
    if not isinstance(code, str) or code not in CODES or not code.startswith(_WORKER_PREFIXES):
        return None
    return Response(
        problem_body(code, status, CODES[code], request_id),
        status_code=status,
        headers={"Cache-Control": "no-store"},
        media_type=PROBLEM_MEDIA_TYPE,
    )
