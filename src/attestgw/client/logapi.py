"""The gateway's evidence-log API (``/v1/log/*``, docs/gateway.md) from the client side.

- :func:`parse_proof_answer` and :func:`parse_entries_answer` read the JSON answers (sans-I/O):
  anything not in the documented shape — a hash that is not 32 bytes of base64, indices that are
  not the ones asked for — is ``log.response_malformed``;
- :class:`LogApiClient` fetches with a bearer token (``read_log`` on ``log`` is required);
  refusals are the gateway's codes (``access.denied``, ``gateway.log_range_invalid``, …);
- :class:`RemoteLogBackend` is a read-only :class:`~attestgw.log.backend.Backend` over the API, so
  :func:`attestgw.audit.audit_log` can re-check a log it can only reach through a gateway.

Not checked here: anything about what is fetched (signatures, proofs, records) — that is the caller's
(:mod:`attestgw.client.logcheck`, the audit). The stored leaf hashes are the gateway's claim; the
audit recomputes each from the record bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx

from attestgw.client._problems import refusal
from attestgw.errors import AttestgwError, FormatError, ServiceUnavailableError
from attestgw.log import EntryRow, Evidence
from attestgw.log.backend import WriteTransaction
from attestgw.merkle import HASH_SIZE, parse_checkpoint, parse_note

__all__ = [
    "LogApiClient",
    "RemoteLogBackend",
    "consistency_url",
    "log_refusal",
    "parse_entries_answer",
    "parse_proof_answer",
]

_TIMEOUT = 30.0


def _bad(message: str) -> FormatError:
    return FormatError("log.response_malformed", message)


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{what} is not valid base64") from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise _bad("the answer is not JSON") from None
    if not isinstance(value, dict):
        raise _bad("the answer is not a JSON object")
    return value


def parse_proof_answer(body: bytes, expect: dict[str, int]) -> tuple[bytes, ...]:
    """The ``hashes`` of an inclusion or consistency answer whose integer members equal ``expect``
    (``{"index": i, "size": n}`` or ``{"old": m, "new": n}``); each hash must be 32 bytes."""
    answer = _json(body)
    for name, want in expect.items():
        got = answer.get(name)
        if got != want or isinstance(got, bool):
            raise _bad(f"the proof is for {name} {got!r}, want {want}")
    hashes = answer.get("hashes")
    if not isinstance(hashes, list) or len(hashes) > 64:
        raise _bad("hashes is not a list of at most 64 hashes")
    out = tuple(_bytes(h, f"hashes[{i}]") for i, h in enumerate(hashes))
    if any(len(h) != HASH_SIZE for h in out):
        raise _bad(f"a proof hash is not {HASH_SIZE} bytes")
    return out


def parse_entries_answer(body: bytes, start: int) -> list[EntryRow]:
    """The rows of an ``/v1/log/entries`` answer that begins at ``start`` (consecutive indices)."""
    entries = _json(body).get("entries")
    if not isinstance(entries, list) or not entries:
        raise _bad("entries is not a non-empty list")
    rows = []
    for offset, item in enumerate(entries):
        if not isinstance(item, dict) or item.get("index") != start + offset:
            raise _bad(f"entry {offset} of the page is not index {start + offset}")
        raw = item.get("evidence")
        evidence = None
        if raw is not None:
            if not isinstance(raw, dict):
                raise _bad("evidence is not an object")
            evidence = Evidence(*(_bytes(raw.get(k), f"evidence.{k}") for k in ("bundle", "nonce", "policy")))
        leaf = _bytes(item.get("leaf_hash"), "leaf_hash")
        rows.append(EntryRow(start + offset, leaf, _bytes(item.get("record"), "record"), evidence))
    return rows


def consistency_url(url: str, old: int, new: int) -> str:
    return f"{url.rstrip('/')}/v1/log/proof/consistency?old={old}&new={new}"


def log_refusal(response: httpx.Response) -> AttestgwError:
    """The error for a non-200 answer of the log API: the gateway's code with its class."""
    error = refusal(
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
        retry_after=response.headers.get("retry-after"),
    )
    if error.code == "worker.refused":  # a log.* code from the gateway's store (503)
        code = _code(response.content)
        if code is not None and code.startswith("log.") and response.status_code == 503:
            return ServiceUnavailableError(code, f"the gateway answered {response.status_code}")
    return error


def _code(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    code = value.get("code") if isinstance(value, dict) else None
    return code if isinstance(code, str) else None


class LogApiClient:
    """Fetch from a gateway's ``/v1/log`` API with ``token`` (never logged). ``http_client`` is used
    as given and not closed; without one a client is made and closed by :meth:`close`."""

    def __init__(
        self, url: str, *, token: str | None = None, http_client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._own = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=_TIMEOUT)
        self._headers = {} if not token else {"authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"LogApiClient({self.url!r})"

    def _get(self, path: str) -> httpx.Response:
        response = self._http.get(self.url + path, headers=self._headers)
        if response.status_code != 200:
            raise log_refusal(response)
        return response

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint note, unverified."""
        return self._get("/v1/log/checkpoint").content

    def entries(self, start: int, end: int) -> Iterator[EntryRow]:
        """Rows ``[start, end)``, fetched page by page."""
        while start < end:
            rows = parse_entries_answer(self._get(f"/v1/log/entries?start={start}&end={end}").content, start)
            yield from rows[: end - start]
            start += len(rows)

    def inclusion(self, index: int, size: int) -> tuple[bytes, ...]:
        body = self._get(f"/v1/log/proof/inclusion?index={index}&size={size}").content
        return parse_proof_answer(body, {"index": index, "size": size})

    def consistency(self, old: int, new: int) -> tuple[bytes, ...]:
        body = self._get(f"/v1/log/proof/consistency?old={old}&new={new}").content
        return parse_proof_answer(body, {"old": old, "new": new})

    def close(self) -> None:
        if self._own:
            self._http.close()


class RemoteLogBackend:
    """A read-only :class:`~attestgw.log.backend.Backend` over :class:`LogApiClient`: a snapshot at
    the checkpoint fetched when it was made. The API serves only the latest checkpoint, so
    :meth:`checkpoints` yields that one; writing raises ``log.store_read_only``."""

    def __init__(self, api: LogApiClient) -> None:
        self._api = api
        self._note = api.checkpoint()
        # unverified here: the origin and size only say what to fetch; the audit verifies the note
        checkpoint = parse_checkpoint(parse_note(self._note).text)
        self._origin, self._size = checkpoint.origin, checkpoint.size

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def location(self) -> str:
        return self._api.url

    def write(self) -> AbstractContextManager[WriteTransaction]:
        raise ServiceUnavailableError(
            "log.store_read_only", "a log read through the gateway API is read-only"
        )

    def count(self) -> int:
        return self._size

    def leaf_hashes(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        for row in self._api.entries(start, self._size):
            yield row.index, row.leaf_hash

    def rows(self, start: int, end: int | None = None, *, evidence: bool = False) -> Iterator[EntryRow]:
        stop = self._size if end is None else min(end, self._size)
        for row in self._api.entries(start, stop):
            yield row if evidence else EntryRow(row.index, row.leaf_hash, row.data)

    def evidence(self, index: int) -> Evidence | None:
        if not 0 <= index < self._size:
            return None
        return next(iter(self._api.entries(index, index + 1))).evidence

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        return self._size, self._note

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        yield self._size, self._note

    def close(self) -> None:
        self._api.close()
