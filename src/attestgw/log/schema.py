"""Record schemas, version 1: which fields each record type may hold, and what each field may be.

A schema is an allow-list. A record with a member its type does not list is refused
(``log.record_field_not_allowed``) whatever the member holds, so a prompt, a token or a key cannot
reach the log by way of a new field; a listed member of the wrong shape is ``log.record_malformed``.
Field kinds are narrow on purpose: digests are 64 lowercase hex digits, ids are short visible ASCII,
times are RFC 3339 UTC with microseconds, codes look like ``area.name``. The one open-ended field is
the attestation result (``ear``: a JSON object of bounded size), which is the verifier's own output.

Not checked here: that digests are digests *of* anything, that indices point at the right kind of
entry, or that times are plausible — the store and the auditor check references; see
docs/evidence-log.md §1 for what each field means.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.log.canonical import MAX_SAFE_INTEGER

__all__ = ["RECORD_TYPES", "RECORD_VERSION", "FieldSpec", "check_fields"]

RECORD_VERSION = 1

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_HEX = re.compile(r"\A(?:[0-9a-f]{2}){1,128}\Z")
_ID = re.compile(r"\A[\x21-\x7e]{1,256}\Z")
_CODE = re.compile(r"\A[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\Z")
_TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_VKEY = re.compile(r"\A[\x21-\x7e]{1,512}\Z")
_MAX_LIST = 64


def _malformed(name: str, want: str) -> FormatError:
    return FormatError("log.record_malformed", f"field {name!r}: want {want}")


def _pattern(regex: re.Pattern[str], want: str) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if not isinstance(value, str) or not regex.match(value):
            raise _malformed(name, want)

    return check


def _uint(maximum: int) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise _malformed(name, f"an integer in [0, {maximum}]")

    return check


def _bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise _malformed(name, "true or false")


def _enum(*allowed: str) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if value not in allowed:
            raise _malformed(name, "one of " + ", ".join(allowed))

    return check


def _list(item: Callable[[str, object], None]) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if not isinstance(value, list) or len(value) > _MAX_LIST:
            raise _malformed(name, f"a list of at most {_MAX_LIST} items")
        for i, element in enumerate(value):
            item(f"{name}[{i}]", element)

    return check


def _ear(name: str, value: object) -> None:
    # The verifier's own result: an object (or null); the record's byte cap bounds its size.
    if value is not None and not isinstance(value, dict):
        raise _malformed(name, "an EAR claims object, or null")


HEX64 = _pattern(_HEX64, "64 lowercase hex digits (a SHA-256 digest)")
HEX = _pattern(_HEX, "lowercase hex of 1-128 bytes")
ID = _pattern(_ID, "1-256 visible ASCII characters")
CODE = _pattern(_CODE, "an error code such as 'area.name'")
TIME = _pattern(_TIME, "an RFC 3339 UTC time with microseconds, e.g. 2026-01-01T00:00:00.000000Z")
VKEY = _pattern(_VKEY, "a signed-note verifier key")
INDEX = _uint(MAX_SAFE_INTEGER)
KEY_ID = _uint(255)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One allowed member: its check, whether it must be present, whether ``null`` is allowed."""

    check: Callable[[str, object], None]
    required: bool = True
    nullable: bool = False


def _opt(check: Callable[[str, object], None]) -> FieldSpec:
    return FieldSpec(check, required=False)


_KEY_EVENT: Mapping[str, FieldSpec] = {
    "key_id": FieldSpec(ID),
    "model": _opt(ID),
    "worker": _opt(ID),
    "attestation_index": _opt(INDEX),
    "policy_digest": _opt(HEX64),
    "principal_digest": _opt(HEX64),
    "codes": _opt(_list(CODE)),
}

#: Record type → its allowed members (besides ``v``, ``type`` and ``time``, which every record has).
RECORD_TYPES: Mapping[str, Mapping[str, FieldSpec]] = {
    "attestation.appraised": {
        "worker": FieldSpec(ID),
        "tee": FieldSpec(_enum("snp", "tdx")),
        "evidence_digest": FieldSpec(HEX64),
        "nonce_digest": FieldSpec(HEX64),
        "policy_digest": FieldSpec(HEX64),
        "verified_at": FieldSpec(TIME),
        "expires_at": FieldSpec(TIME),
        "status": FieldSpec(_enum("affirming", "warning", "contraindicated", "none")),
        "codes": FieldSpec(_list(CODE)),
        "ear": FieldSpec(_ear, nullable=True),
        "measurement": FieldSpec(HEX, nullable=True),
        "instance_digest": FieldSpec(HEX64, nullable=True),
        "simulated": FieldSpec(_bool),
    },
    "worker.admitted": {
        "worker": FieldSpec(ID),
        "attestation_index": FieldSpec(INDEX),
        "instance_digest": FieldSpec(HEX64),
        "models": FieldSpec(_list(ID)),
    },
    "worker.evicted": {
        "worker": FieldSpec(ID),
        "reason": FieldSpec(CODE),
        "attestation_index": _opt(INDEX),
    },
    "inference.relayed": {
        "principal_digest": FieldSpec(HEX64),
        "model": FieldSpec(ID),
        "worker": FieldSpec(ID),
        "key_id": FieldSpec(KEY_ID),
        "ciphertext_digest": FieldSpec(HEX64),
        "response_digest": _opt(HEX64),
        "receipt_digest": _opt(HEX64),
        "attestation_index": FieldSpec(INDEX),
        "stream": _opt(_bool),
    },
    "authorization.denied": {
        "decision_id": FieldSpec(ID),
        "principal_digest": FieldSpec(HEX64),
        "action": FieldSpec(ID),
        "resource": FieldSpec(ID),
        "policy_ids": FieldSpec(_list(ID)),
        "code": FieldSpec(CODE),
    },
    "key.registered": _KEY_EVENT,
    "key.released": _KEY_EVENT,
    "key.release_denied": _KEY_EVENT,
    "key.revoked": _KEY_EVENT,
    "key.destroyed": _KEY_EVENT,
    "policy.changed": {
        "policy_kind": FieldSpec(_enum("attestation", "access", "release", "redaction")),
        "policy_id": FieldSpec(ID),
        "policy_version": _opt(ID),
        "policy_digest": FieldSpec(HEX64),
        "previous_digest": _opt(HEX64),
        "principal_digest": _opt(HEX64),
    },
    "log.key_rotated": {
        "old_key": FieldSpec(VKEY),
        "new_key": FieldSpec(VKEY),
    },
}


def check_fields(record_type: str, fields: Mapping[str, object]) -> None:
    """Check ``fields`` (without ``v``/``type``/``time``) against the schema of ``record_type``.

    ``log.record_unsupported`` for an unknown type; ``log.record_field_not_allowed`` for a member the
    type does not list; ``log.record_malformed`` for a missing or ill-shaped one.
    """
    schema = RECORD_TYPES.get(record_type)
    if schema is None:
        raise FormatError("log.record_unsupported", f"unknown record type {record_type[:64]!r}")
    for name in fields:
        if name not in schema:
            raise FormatError(
                "log.record_field_not_allowed", f"{record_type} records may not hold a {name[:64]!r} field"
            )
    for name, spec in schema.items():
        if name not in fields:
            if spec.required:
                raise FormatError("log.record_malformed", f"{record_type} record lacks {name!r}")
            continue
        value = fields[name]
        if value is None and spec.nullable:
            continue
        spec.check(name, value)
