"""The gateway's :class:`~attestgw.gateway.ports.Recorder`, backed by the evidence log; and the fields of
an attestation record built from an appraisal.

``LogRecorder.record(kind, fields)`` stamps the time, checks the schema, appends, and returns the
index once the entry is durable. For ``attestation.appraised`` the caller passes the raw material
under three extra keys — ``bundle``, ``nonce``, ``policy`` (bytes) — which the recorder moves
*beside* the leaf (:class:`~attestgw.log.records.Evidence`) and replaces by their digests; no other
record type accepts bytes. :func:`attestation_fields` builds the rest of those fields from the
outcome of :func:`attestgw.attestation.appraise_bundle` without this package importing it (the log
sits below the attestation layer): the caller passes status, codes, EAR claims, measurement.

Not done here: deciding anything. The recorder stores what the gateway decided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from attestgw.clock import require_aware, utcnow
from attestgw.errors import FormatError
from attestgw.log.records import Evidence, build_record, format_time
from attestgw.log.store import LogStore

__all__ = ["EVIDENCE_KEYS", "LogRecorder", "attestation_fields"]

#: The keys of ``attestation.appraised`` fields that carry raw bytes to store beside the leaf.
EVIDENCE_KEYS = ("bundle", "nonce", "policy")


def attestation_fields(
    *,
    worker: str,
    status: str,
    codes: Sequence[str],
    verified_at: datetime,
    valid_for: timedelta,
    ear: Mapping[str, Any] | None,
    measurement: bytes | None,
    instance_digest: bytes | None,
    simulated: bool,
    tee: str = "snp",
) -> dict[str, object]:
    """The schema fields of an ``attestation.appraised`` record, except the three evidence digests.

    ``expires_at`` is ``verified_at + valid_for`` for an affirming result (how long the gateway may
    rely on it) and ``verified_at`` otherwise.
    """
    at = require_aware(verified_at)
    until = at + valid_for if status == "affirming" else at
    return {
        "worker": worker,
        "tee": tee,
        "verified_at": format_time(at),
        "expires_at": format_time(until),
        "status": status,
        "codes": list(codes),
        "ear": dict(ear) if ear is not None else None,
        "measurement": measurement.hex() if measurement is not None else None,
        "instance_digest": instance_digest.hex() if instance_digest is not None else None,
        "simulated": simulated,
    }


class LogRecorder:
    """Implements the gateway's ``Recorder`` protocol over a writable :class:`LogStore`."""

    def __init__(
        self, store: LogStore, *, clock: Callable[[], datetime] = utcnow, timeout: float | None = 30.0
    ) -> None:
        self._store = store
        self._clock = clock
        self._timeout = timeout

    def record(self, kind: str, fields: Mapping[str, object]) -> int:
        """Append one record of type ``kind``; returns its index once durable (module docstring)."""
        values = dict(fields)
        evidence: Evidence | None = None
        if kind == "attestation.appraised":
            raw = [values.pop(key, None) for key in EVIDENCE_KEYS]
            if not all(isinstance(value, bytes) for value in raw):
                raise FormatError(
                    "log.evidence_missing", "attestation records need bundle, nonce and policy bytes"
                )
            evidence = Evidence(*raw)  # type: ignore[arg-type]  # checked just above
            values.update(evidence.digests)
        record = build_record(kind, values, at=self._clock())
        return self._store.append(record, evidence, timeout=self._timeout)
