"""The evidence log on the gateway: the read API under ``/v1/log`` and the proof on attestation answers.

Routes (docs/gateway.md §Evidence log API), each authenticated and authorized as principal ×
``read_log`` × ``log`` (the shipped policies grant it to group ``attestgw-auditors``):

- ``GET /v1/log/checkpoint`` — the latest signed checkpoint (C2SP signed note), ``text/plain``;
- ``GET /v1/log/entries?start=&end=`` — entries ``[start, end)``, at most :data:`MAX_PAGE` per answer
  (``end`` defaults to, and is cut to, ``start + MAX_PAGE`` and the checkpoint size; the answer says
  where it stopped): record bytes, stored leaf hash and — for attestation entries only — the
  evidence stored beside the leaf (bundle, nonce, policy), all base64;
- ``GET /v1/log/proof/inclusion?index=&size=`` and ``GET /v1/log/proof/consistency?old=&new=`` —
  RFC 9162 proofs as base64 hashes (``size``/``new`` default to the latest checkpoint).

A range outside the log is ``400 gateway.log_range_invalid``; a gateway without a log answers
``404 gateway.log_unavailable``; a log that cannot be read, ``503 log.store_unavailable``.

:class:`AttestationLog` is what ``GET /v1/attestation`` adds (architecture path A, step 1): the
gateway appraises the client's bundle with its own worker policy off the event loop (defence in
depth — the client still decides), records ``attestation.appraised`` with the bundle, the client's
nonce and the policy bytes beside it (a refused bundle is recorded as refused, and still returned),
waits until a signed checkpoint covers the entry, and answers the headers of :data:`LOG_HEADERS`.

Not checked here: anything a client must check itself (signatures, inclusion, consistency — the
SDK does, :mod:`attestgw.client.logcheck`); the gateway's own appraisal never changes the answer.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from attestgw.appraisal import build_ear
from attestgw.attestation import AttestationRefused, appraise_bundle
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError
from attestgw.gateway.openapi import ACCESS_PROBLEMS, json_response, problems
from attestgw.gateway.ports import Recorder
from attestgw.gateway.problems import GatewayError
from attestgw.gateway.services import EvidenceLog
from attestgw.log import EntryRow, attestation_fields
from attestgw.merkle import parse_checkpoint, parse_note

__all__ = [
    "LOG_CHECKPOINT_HEADER",
    "LOG_ENTRY_HEADER",
    "LOG_HEADERS",
    "LOG_INCLUSION_HEADER",
    "LOG_INDEX_HEADER",
    "LOG_STATUS",
    "MAX_PAGE",
    "AttestationLog",
    "LogApiError",
    "add_log_routes",
]

#: Response headers of ``GET /v1/attestation`` when the gateway keeps a log (values are ASCII).
LOG_INDEX_HEADER = "Attestgw-Log-Index"  # decimal leaf index of the attestation.appraised entry
LOG_ENTRY_HEADER = "Attestgw-Log-Entry"  # base64 of the entry's record bytes (the leaf's data)
LOG_CHECKPOINT_HEADER = "Attestgw-Log-Checkpoint"  # base64 of the signed checkpoint note covering it
LOG_INCLUSION_HEADER = (
    "Attestgw-Log-Inclusion"  # the RFC 9162 inclusion proof: base64 hashes, comma-separated
)
LOG_HEADERS = (LOG_INDEX_HEADER, LOG_ENTRY_HEADER, LOG_CHECKPOINT_HEADER, LOG_INCLUSION_HEADER)

#: The most entries one ``/v1/log/entries`` answer holds (evidence included, so kept small).
MAX_PAGE = 100
#: HTTP status of the log API's own codes (they are ``gateway.*`` codes raised as :class:`LogApiError`).
LOG_STATUS = {"gateway.log_range_invalid": 400, "gateway.log_unavailable": 404}
_MAX_INDEX = (1 << 63) - 1
_NO_STORE = {"Cache-Control": "no-store"}
_B64 = {"type": "string", "contentEncoding": "base64"}
_HASHES = {"type": "array", "items": _B64}
_ENTRIES_SCHEMA = {
    "type": "object",
    "properties": {
        "start": {"type": "integer"},
        "end": {"type": "integer"},
        "size": {"type": "integer"},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "leaf_hash": _B64,
                    "record": _B64,
                    "evidence": {
                        "type": ["object", "null"],
                        "properties": {"bundle": _B64, "nonce": _B64, "policy": _B64},
                    },
                },
            },
        },
    },
}
_INCLUSION_SCHEMA = {
    "type": "object",
    "properties": {"index": {"type": "integer"}, "size": {"type": "integer"}, "hashes": _HASHES},
}
_CONSISTENCY_SCHEMA = {
    "type": "object",
    "properties": {"old": {"type": "integer"}, "new": {"type": "integer"}, "hashes": _HASHES},
}
_LOG_PROBLEMS = problems(ACCESS_PROBLEMS)
Index = Annotated[int, Query(ge=0, le=_MAX_INDEX, description="a leaf index")]
Size = Annotated[int | None, Query(ge=0, le=_MAX_INDEX, description="a tree size (default: latest)")]


class LogApiError(GatewayError):
    """A refusal of the log API (``gateway.log_*``); its status is in :data:`LOG_STATUS`."""

    @property
    def status(self) -> int:
        return LOG_STATUS[self.code]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _range(message: str) -> LogApiError:
    return LogApiError("gateway.log_range_invalid", message)


def _entry(row: EntryRow) -> dict[str, Any]:
    evidence = row.evidence
    return {
        "index": row.index,
        "leaf_hash": _b64(row.leaf_hash),
        "record": _b64(row.data),
        "evidence": None
        if evidence is None
        else {
            "bundle": _b64(evidence.bundle),
            "nonce": _b64(evidence.nonce),
            "policy": _b64(evidence.policy),
        },
    }


class AttestationLog:
    """Appraise, record and prove one attestation answer (module docstring)."""

    def __init__(
        self, log: EvidenceLog, recorder: Recorder, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._log = log
        self._recorder = recorder
        self._clock = clock

    def _fields(self, worker: str, bundle: bytes, nonce: bytes) -> dict[str, object]:
        log, at = self._log, self._clock()
        evidence = {"bundle": bundle, "nonce": nonce, "policy": log.policy_bytes}
        try:
            appraised = appraise_bundle(bundle, nonce, log.policy, at=at)
        except AttestationRefused as err:  # genuine evidence the policy refused: its rules
            fields = attestation_fields(
                worker=worker, status=err.result.status.value, codes=err.codes, verified_at=at,
                valid_for=log.valid_for, ear=build_ear(err.result, issued_at=at, nonce=nonce),
                measurement=err.claims.report.measurement if err.claims is not None else None,
                instance_digest=None, simulated=err.claims.simulated if err.claims is not None else False,
            )  # fmt: skip
            return {**fields, **evidence}
        except AttestgwError as err:  # unreadable or not genuine: its code
            fields = attestation_fields(
                worker=worker, status="contraindicated", codes=(err.code,), verified_at=at,
                valid_for=log.valid_for, ear=None, measurement=None, instance_digest=None, simulated=False,
            )  # fmt: skip
            return {**fields, **evidence}
        ear = build_ear(appraised.result, issued_at=at, nonce=nonce, expires_at=at + log.valid_for)
        fields = attestation_fields(
            worker=worker, status=appraised.result.status.value,
            codes=tuple(f.code for f in appraised.result.warnings), verified_at=at, valid_for=log.valid_for,
            ear=ear, measurement=appraised.measurement, instance_digest=appraised.instance_digest,
            simulated=appraised.claims.simulated,
        )  # fmt: skip
        return {**fields, **evidence}

    def _prove(self, worker: str, bundle: bytes, nonce: bytes) -> dict[str, str]:
        index = self._recorder.record("attestation.appraised", self._fields(worker, bundle, nonce))
        if index is None:
            raise GatewayError("gateway.internal_error", "the recorder kept no durable entry")
        store = self._log.store
        note = store.wait_for_checkpoint(index)
        size = parse_checkpoint(parse_note(note).text).size
        proof = store.inclusion_proof(index, size)
        (row,) = store.entries(index, index + 1)
        return {
            LOG_INDEX_HEADER: str(index),
            LOG_ENTRY_HEADER: _b64(row.data),
            LOG_CHECKPOINT_HEADER: _b64(note),
            LOG_INCLUSION_HEADER: ",".join(_b64(h) for h in proof),
        }

    async def record(self, worker: str, bundle: bytes, nonce: bytes) -> dict[str, str]:
        """The :data:`LOG_HEADERS` for ``bundle``, once its record is durable and covered by a
        checkpoint. Appraisal, the append and the proof run in a worker thread."""
        return await asyncio.to_thread(self._prove, worker, bundle, nonce)


class _LogApi:
    """The read side; every store call runs in a thread (it may read the database)."""

    def __init__(self, log: EvidenceLog | None) -> None:
        self._log = log

    def _store_size(self) -> tuple[EvidenceLog, int]:
        if self._log is None:
            raise LogApiError("gateway.log_unavailable", "this gateway keeps no evidence log")
        self._log.store.refresh()
        return self._log, self._log.store.size

    def checkpoint(self) -> bytes:
        log, _ = self._store_size()
        return log.store.checkpoint()

    def entries(self, start: int, end: int | None) -> dict[str, Any]:
        log, size = self._store_size()
        if start >= size:
            raise _range(f"start {start} is not below the log size {size}")
        if end is not None and not start < end <= size:
            raise _range(f"want start < end <= {size}, got [{start}, {end})")
        stop = min(end if end is not None else size, start + MAX_PAGE)
        rows = log.store.entries(start, stop)
        return {"start": start, "end": stop, "size": size, "entries": [_entry(r) for r in rows]}

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        log, latest = self._store_size()
        n = latest if size is None else size
        if not index < n <= latest:
            raise _range(f"want index < size <= {latest}, got index {index}, size {n}")
        return {"index": index, "size": n, "hashes": [_b64(h) for h in log.store.inclusion_proof(index, n)]}

    def consistency(self, old: int, new: int | None) -> dict[str, Any]:
        log, latest = self._store_size()
        n = latest if new is None else new
        if not 0 < old <= n <= latest:
            raise _range(f"want 0 < old <= new <= {latest}, got old {old}, new {n}")
        return {"old": old, "new": n, "hashes": [_b64(h) for h in log.store.consistency_proof(old, n)]}


def add_log_routes(
    app: FastAPI,
    log: EvidenceLog | None,
    guard: Callable[[Request], Any],
    witness_guard: Callable[[Request], Any],
) -> None:
    """Register the ``/v1/log`` routes on ``app``. Entries and inclusion proofs by index go through
    ``guard(request)`` (authenticate, authorize ``read_log`` on ``log``, count the rate); the signed
    checkpoint and consistency proofs through ``witness_guard`` (authenticate, count the rate): they
    are hashes only, and every client that keeps a checkpoint needs them to detect a split view."""
    api = _LogApi(log)

    @app.get(
        "/v1/log/checkpoint",
        response_class=Response,
        responses={
            200: {
                "description": "the latest signed checkpoint (C2SP signed note)",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **_LOG_PROBLEMS,
        },
        summary="The evidence log's latest signed checkpoint",
    )
    async def log_checkpoint(request: Request) -> Response:
        await witness_guard(request)
        note = await asyncio.to_thread(api.checkpoint)
        return Response(note, media_type="text/plain; charset=utf-8", headers=_NO_STORE)

    @app.get(
        "/v1/log/entries",
        response_class=JSONResponse,
        responses={**json_response("entries [start, end), evidence beside attestations", _ENTRIES_SCHEMA),
                   **_LOG_PROBLEMS},
        summary=f"Evidence log entries [start, end), at most {MAX_PAGE} per answer",
    )  # fmt: skip
    async def log_entries(
        request: Request,
        start: Index,
        end: Annotated[int | None, Query(ge=1, le=_MAX_INDEX, description="exclusive end")] = None,
    ) -> Response:
        await guard(request)
        return JSONResponse(await asyncio.to_thread(api.entries, start, end), headers=_NO_STORE)

    @app.get(
        "/v1/log/proof/inclusion",
        response_class=JSONResponse,
        responses={**json_response("RFC 9162 inclusion proof", _INCLUSION_SCHEMA), **_LOG_PROBLEMS},
        summary="Inclusion proof of an entry in the tree of a given size",
    )
    async def log_inclusion(request: Request, index: Index, size: Size = None) -> Response:
        await guard(request)
        return JSONResponse(await asyncio.to_thread(api.inclusion, index, size), headers=_NO_STORE)

    @app.get(
        "/v1/log/proof/consistency",
        response_class=JSONResponse,
        responses={**json_response("RFC 9162 consistency proof", _CONSISTENCY_SCHEMA), **_LOG_PROBLEMS},
        summary="Consistency proof between two tree sizes",
    )
    async def log_consistency(
        request: Request,
        old: Annotated[int, Query(ge=0, le=_MAX_INDEX, description="the older tree size (> 0)")],
        new: Size = None,
    ) -> Response:
        await witness_guard(request)
        return JSONResponse(await asyncio.to_thread(api.consistency, old, new), headers=_NO_STORE)
