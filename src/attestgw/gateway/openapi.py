"""OpenAPI fragments: the content types and problem responses every route documents.

Kept apart from the handlers so that the documented statuses and the problem mapping
(:mod:`attestgw.gateway.problems`) are reviewed together; the schemathesis test checks that the app
answers nothing it does not document.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

__all__ = [
    "ACCESS_PROBLEMS",
    "PROBLEM_SCHEMA",
    "RELAY_PROBLEMS",
    "SEALED_PROBLEMS",
    "binary_body",
    "binary_response",
    "json_response",
    "problems",
]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable error code (docs/errors.md)"},
        "request_id": {"type": "string"},
        "decision_id": {"type": "string", "description": "on 403: the logged authorization decision"},
    },
}

_WHY = {
    400: "malformed parameter or sealed request (gateway.request_invalid; the worker's ohttp.*, bhttp.*)",
    401: "no or invalid access token (auth.*); WWW-Authenticate: Bearer",
    403: "the access policies deny this (access.denied, with decision_id)",
    404: "no such model or route (gateway.not_found)",
    405: "the route exists but not with this method (gateway.method_not_allowed)",
    413: "the sealed request exceeds the size limit (gateway.request_too_large)",
    415: "wrong Content-Type for the route (gateway.unsupported_media_type)",
    422: "the worker does not hold the key config the request was sealed to (ohttp.unknown_key_id)",
    429: "a quota is exhausted (quota.*); Retry-After",
    502: "the worker failed while relaying (gateway.upstream_failed)",
    503: "no admitted worker, issuer unavailable, or draining (gateway.no_worker, auth.issuer_unavailable)",
    504: "the worker did not answer in time (gateway.upstream_timeout)",
}

#: Every route can be refused by the request id/draining middleware and the unknown-method handler.
_BASE = (400, 405, 503)
ACCESS_PROBLEMS = (*_BASE, 401, 403, 404, 429)
RELAY_PROBLEMS = (*ACCESS_PROBLEMS, 502, 504)
SEALED_PROBLEMS = (*RELAY_PROBLEMS, 413, 415, 422)


def problems(statuses: tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses``, each an application/problem+json body."""
    return {
        status: {
            "description": _WHY.get(status, HTTPStatus(status).phrase),
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in sorted(set(statuses))
    }


def binary_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


def binary_body(media_type: str, description: str) -> dict[str, Any]:
    """``openapi_extra`` for a raw request body of ``media_type``."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
