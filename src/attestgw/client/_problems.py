"""Map the worker's outer refusals (RFC 9457 problem+json, docs/worker-protocol.md §3) to errors.

A sealed request the worker could not open is answered outside the seal with a stable ``code``.
The client raises the same code with the class it has in :mod:`attestgw.errors`, so callers match
``ohttp.replay`` or ``ohttp.unknown_key_id`` exactly as if the client had found it itself. A code
the client does not know (or a body that is no problem at all) becomes ``worker.refused`` with the
worker's status and code in the message. Problem bodies are not trusted: only the code is read, and
it selects one of a fixed set of errors; the text shown is truncated.
"""

from __future__ import annotations

import json

from attestgw.errors import (
    CODES,
    AttestgwError,
    AuthenticationError,
    AuthorizationError,
    DecryptionError,
    FormatError,
    RateLimitedError,
    ServiceUnavailableError,
    UsageError,
)

__all__ = ["REATTEST_CODES", "refusal"]

#: Refusals that can mean "the key config you sealed to is gone" (rotation, restart): the client
#: attests again and retries once if the attested key configs changed.
REATTEST_CODES = frozenset({"ohttp.unknown_key_id", "ohttp.decrypt_failed"})

_DECRYPTION = frozenset(
    {
        "ohttp.unknown_key_id",
        "ohttp.decrypt_failed",
        "ohttp.replay",
        "ohttp.truncated",
        "ohttp.chunk_invalid",
    }
)
_FORMAT = frozenset(
    {
        "ohttp.malformed",
        "ohttp.key_config_invalid",
        "hpke.suite_unsupported",
        "hpke.key_invalid",
        "hpke.decap_failed",
        "bhttp.malformed",
        "bhttp.field_invalid",
        "bhttp.limit_exceeded",
    }
)


def _code(content_type: str, body: bytes) -> str | None:
    if not content_type.split(";", maxsplit=1)[0].strip().lower().endswith("json"):
        return None
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    code = problem.get("code") if isinstance(problem, dict) else None
    return code if isinstance(code, str) else None


def _retry_after(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() else 1


def _gateway(status: int, code: str, retry_after: str | None) -> AttestgwError | None:
    """A gateway's own refusal (identity, authorization, quota, routing), or ``None``."""
    said = f"the gateway answered {status}"
    if code.startswith("auth."):
        return AuthenticationError(code, said)
    if code == "access.denied":
        return AuthorizationError(code, said)
    if code.startswith("quota."):
        return RateLimitedError(code, said, retry_after=_retry_after(retry_after))
    if code in ("gateway.no_worker", "gateway.upstream_failed", "gateway.upstream_timeout"):
        return ServiceUnavailableError(code, said)
    if code.startswith("gateway.") or code in ("usage.invalid", "worker.model_mismatch"):
        return UsageError(code, said)
    return None


def refusal(status: int, content_type: str, body: bytes, *, retry_after: str | None = None) -> AttestgwError:
    """The error for an outer answer that is not ``200`` with a sealed body (or a bundle)."""
    code = _code(content_type, body)
    if code is not None and code in CODES:
        gateway = _gateway(status, code, retry_after)
        if gateway is not None:
            return gateway
    if code in _DECRYPTION:
        return DecryptionError(code, f"the worker refused the sealed request ({status})")
    if code in _FORMAT:
        return FormatError(code, f"the worker refused the sealed request ({status})")
    shown = code if code is not None else body[:120].decode("utf-8", "replace")
    return FormatError("worker.refused", f"the worker answered {status}: {shown!r}")
