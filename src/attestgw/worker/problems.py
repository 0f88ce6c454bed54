"""Errors → RFC 9457 problem details, in one place, for the worker's outer routes and inner refusals.

Outer problems travel in the clear (through an untrusted relay), so their ``detail`` is the fixed
description of the code from :data:`attestgw.errors.CODES`, never the exception message: a message
about a Binary HTTP field could quote decrypted plaintext. Status by code:

* key configuration problems (``ohttp.unknown_key_id``, ``hpke.suite_unsupported``) → 422 with the
  IANA problem type ``…#ohttp-key`` (RFC 9458 §5.3): the client should re-fetch keys and re-attest;
* ``worker.request_too_large`` → 413, ``worker.unsupported_media_type`` → 415;
* ``attester.*`` → 503 (evidence cannot be produced now);
* everything else (malformed, undecryptable, replayed, bad nonce) → 400.

Body: ``{"type", "title", "status", "code", "detail"}`` with ``Content-Type:
application/problem+json``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from attestgw.errors import CODES, AttestgwError

__all__ = [
    "DATE_PROBLEM_TYPE",
    "KEY_PROBLEM_TYPE",
    "PROBLEM_MEDIA_TYPE",
    "problem_body",
    "problem_response",
    "status_for",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
KEY_PROBLEM_TYPE = "https://iana.org/assignments/http-problem-types#ohttp-key"
DATE_PROBLEM_TYPE = "https://iana.org/assignments/http-problem-types#date"

_KEY_CODES = frozenset({"ohttp.unknown_key_id", "hpke.suite_unsupported"})
_STATUS = {
    "worker.request_too_large": 413,
    "worker.unsupported_media_type": 415,
    "worker.model_mismatch": 404,
    "worker.inner_error": 500,
}


def status_for(code: str) -> int:
    """The HTTP status the worker answers with for ``code`` (see the module table)."""
    if code in _KEY_CODES:
        return 422
    if code.startswith("attester."):
        return 503
    return _STATUS.get(code, 400)


def problem_body(code: str, status: int, *, problem_type: str | None = None) -> bytes:
    """The problem+json body for ``code``; ``detail`` is the code's registered description."""
    if code not in CODES:
        raise ValueError(f"unregistered error code {code!r}")
    if problem_type is None:
        problem_type = KEY_PROBLEM_TYPE if code in _KEY_CODES else "about:blank"
    body: dict[str, Any] = {
        "type": problem_type,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": CODES[code],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def problem_response(error: AttestgwError | str, status: int | None = None) -> Response:
    """An outer problem response for an error (or a bare code)."""
    code = error if isinstance(error, str) else error.code
    status = status_for(code) if status is None else status
    return Response(problem_body(code, status), status_code=status, media_type=PROBLEM_MEDIA_TYPE)
