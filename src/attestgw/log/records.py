"""Evidence-log records: versioned, schema-checked objects stored as RFC 8785 canonical JSON.

A record is one JSON object ``{"v": 1, "type": <record type>, "time": <RFC 3339 UTC>, …fields}``;
its canonical bytes are the log entry, hashed into the Merkle leaf exactly as stored. The field
allow-lists are in :mod:`attestgw.log.schema` and documented in docs/evidence-log.md §1.

- :func:`build_record` checks the fields against the schema and returns a :class:`Record` whose
  :attr:`Record.data` is the canonical bytes (what the store appends);
- :func:`parse_record` reads stored bytes back: canonical JSON (one spelling per record), at most
  :data:`MAX_RECORD_BYTES`, a known version and type, the schema. Only ``FormatError`` escapes.

Side data that must not enter the leaf (the raw attestation bundle, the nonce, the policy bytes) is
carried by :class:`Evidence` and stored beside the entry; the record holds only their SHA-256
digests, which is what makes swapping the stored evidence detectable.

Not checked here: references between records (the auditor's job), or that a time is plausible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from attestgw.clock import require_aware
from attestgw.errors import FormatError
from attestgw.log.canonical import canonicalize, parse_canonical
from attestgw.log.schema import RECORD_VERSION, TIME, check_fields

__all__ = [
    "MAX_RECORD_BYTES",
    "Evidence",
    "Record",
    "build_record",
    "format_time",
    "parse_record",
    "parse_time",
]

#: A record is digests and ids plus at most one attestation result: 64 KiB bounds a hostile one.
MAX_RECORD_BYTES = 64 * 1024
_ENVELOPE = ("v", "type", "time")


def format_time(at: datetime) -> str:
    """RFC 3339 UTC with exactly six fractional digits: ``2026-01-01T00:00:00.000000Z``."""
    return require_aware(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`; anything else is ``log.record_malformed``."""
    TIME("time", text)
    try:  # the pattern above fixed the layout; fromisoformat reads "…Z" as UTC, in C
        return datetime.fromisoformat(text)
    except ValueError:
        raise FormatError("log.record_malformed", f"time {text!r} is not a valid date") from None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an ``attestation.appraised`` entry keeps beside its leaf: bundle, nonce, policy bytes.

    The record holds ``evidence_digest``/``nonce_digest``/``policy_digest``, the SHA-256 of each.
    ``repr`` shows sizes only.
    """

    bundle: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    policy: bytes = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Evidence(bundle={len(self.bundle)} B, nonce={len(self.nonce)} B, policy={len(self.policy)} B)"
        )

    @property
    def digests(self) -> dict[str, str]:
        """The three record fields that commit to these bytes."""
        return {
            "evidence_digest": hashlib.sha256(self.bundle).hexdigest(),
            "nonce_digest": hashlib.sha256(self.nonce).hexdigest(),
            "policy_digest": hashlib.sha256(self.policy).hexdigest(),
        }


@dataclass(frozen=True, slots=True)
class Record:
    """A schema-checked record and its canonical bytes ``data`` (the log entry)."""

    type: str
    time: datetime
    fields: Mapping[str, Any]
    data: bytes = field(repr=False)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def build_record(record_type: str, fields: Mapping[str, object], *, at: datetime) -> Record:
    """Check ``fields`` against the schema of ``record_type`` and encode the record canonically."""
    for name in _ENVELOPE:
        if name in fields:
            raise FormatError("log.record_malformed", f"{name!r} is set by the log, not by the caller")
    check_fields(record_type, fields)
    at = require_aware(at)
    stamp = format_time(at)
    data = canonicalize({"v": RECORD_VERSION, "type": record_type, "time": stamp, **fields})
    if len(data) > MAX_RECORD_BYTES:
        raise FormatError("log.record_malformed", f"record of {len(data)} bytes exceeds {MAX_RECORD_BYTES}")
    return Record(record_type, at, MappingProxyType(dict(fields)), data)


def parse_record(data: bytes) -> Record:
    """Parse stored entry bytes into a :class:`Record` (module docstring); ``FormatError`` only."""
    value = parse_canonical(data, max_bytes=MAX_RECORD_BYTES)
    if not isinstance(value, dict):
        raise FormatError("log.record_malformed", "a record is a JSON object")
    version = value.pop("v", None)
    if version != RECORD_VERSION or isinstance(version, bool):
        raise FormatError("log.record_unsupported", f"record version {version!r}, want {RECORD_VERSION}")
    record_type = value.pop("type", None)
    stamp = value.pop("time", None)
    if not isinstance(record_type, str) or not isinstance(stamp, str):
        raise FormatError("log.record_malformed", "a record needs a string 'type' and 'time'")
    check_fields(record_type, value)
    return Record(record_type, parse_time(stamp), MappingProxyType(value), data)
