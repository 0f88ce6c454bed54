"""``POST /ohttp`` and ``POST /ohttp-chunked``: open, check, dispatch, seal, sign (worker-protocol §3–5).

Steps for one sealed request:

1. the outer ``Content-Type`` must be the route's (415 ``worker.unsupported_media_type``) and the
   body at most ``max_request_bytes`` (413 ``worker.request_too_large``: a declared length is checked
   before reading, and every body is counted as it arrives, whatever it declared);
2. open it with the OHTTP server (key lookup, HPKE, replay window; chunked requests chunk by chunk);
3. decode the Binary HTTP request (known or indeterminate length);
4. refuse, *inside the seal*, a request whose ``Date`` lies outside the replay window (RFC 9458
   §6.5: 400, problem type ``…#date``, with the worker's ``Date``) or, on an inference route, whose
   JSON ``model`` is not the served model (404, OpenAI error shape, code ``worker.model_mismatch``);
5. otherwise dispatch to the inner app in-process;
6. seal the answer: ``/ohttp`` as one known-length Binary HTTP response with the receipt in the
   ``attestgw-receipt`` header; ``/ohttp-chunked`` as an indeterminate-length response, one sealed
   chunk per piece the app sends (head first), the receipt in the trailer of the final chunk.

Both routes are plain ASGI callables (``(scope, receive, send)``): the one-shot route is every
non-streamed inference request, and a framework request and response object pair per request cost
more than the rest of its Python. A client that disconnects before its body arrived gets no answer.

Failures of steps 1–3 are outer problems (:mod:`attestgw.worker.problems`); after step 2 succeeded
the outer status is always 200 and everything else travels sealed. If the inner app fails before
its response starts, a sealed 500 (``worker.inner_error``) is sent; if it fails mid-stream, the
stream ends **without** its final chunk, which a client must report as truncated — never as a
complete answer.

Not checked here: the content of the inner request beyond ``model`` (the inner API validates it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from attestgw.bhttp import Field, Request, decode_request, encode_response, field_values
from attestgw.bhttp import Response as BhttpResponse
from attestgw.bhttp.stream import ResponseStreamEncoder
from attestgw.errors import AttestgwError, FormatError, UsageError
from attestgw.ohttp import (
    MEDIA_TYPE_CHUNKED_REQUEST,
    MEDIA_TYPE_CHUNKED_RESPONSE,
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_RESPONSE,
    ChunkedResponseSealer,
)
from attestgw.receipt import RunningDigest, encode_receipt
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.inner import InnerApp, InnerAppError, InnerStart
from attestgw.worker.problems import DATE_PROBLEM_TYPE, PROBLEM_MEDIA_TYPE, problem_body, problem_response
from attestgw.worker.settings import WorkerServices, WorkerSettings

__all__ = ["RECEIPT_FIELD", "SealedRoutes"]

#: The header (``/ohttp``) or trailer (``/ohttp-chunked``) field carrying the encoded receipt.
RECEIPT_FIELD = b"attestgw-receipt"
_JSON = b"application/json"
_RESPONSE_TYPE = MEDIA_TYPE_RESPONSE.encode("ascii")
_MODEL_SHOWN = 64


@dataclass(frozen=True, slots=True)
class _Reply:
    """A whole inner response the worker makes itself (a refusal inside the seal)."""

    status: int
    headers: tuple[Field, ...]
    content: bytes


def _openai_error(status: int, code: str, message: str, *, kind: str, param: str | None = None) -> _Reply:
    # The OpenAI error shape, so that unmodified OpenAI clients surface the message.
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _Reply(status, (Field(b"content-type", _JSON),), content)


def _inner_error() -> _Reply:
    return _openai_error(500, "worker.inner_error", "the model server failed", kind="server_error")


@functools.lru_cache(maxsize=8)
def _http_date(value: bytes) -> float | None:
    """The instant an RFC 9110 ``Date`` names, or ``None`` when it is not a date. Cached: clients
    send the same second's date on every request within that second."""
    try:
        return parsedate_to_datetime(value.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _header(scope: Scope, name: bytes) -> bytes:
    """The first value of the (lower-case) header ``name`` of an ASGI scope, or ``b""``."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _media_type(scope: Scope) -> str:
    return _header(scope, b"content-type").split(b";", 1)[0].strip().lower().decode("latin-1")


class _Disconnected(Exception):
    """The client went away before its whole request body arrived."""


async def _read_limited(scope: Scope, receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The outer body as it arrives, refused (413) as soon as it is longer than ``limit``."""
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise UsageError("worker.request_too_large", f"body of {declared.decode()} bytes, limit {limit}")
    total = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        total += len(chunk)
        if total > limit:
            raise UsageError("worker.request_too_large", f"body longer than {limit} bytes")
        if chunk:
            yield chunk


class SealedRoutes:
    """The two sealed endpoints, bound to one worker identity and inner app."""

    __slots__ = ("_clock", "_identity", "_inner", "_settings")

    def __init__(
        self, settings: WorkerSettings, services: WorkerServices, identity: WorkerIdentity, inner: InnerApp
    ) -> None:
        self._settings = settings
        self._clock = services.clock
        self._identity = identity
        self._inner = inner

    # -- routes ------------------------------------------------------------------------------------

    def _check_model(self, model: str | None) -> None:
        """A gateway-shaped route (``/v1/models/{model}/…``) must name the served model (outside the seal)."""
        if model is not None and model != self._settings.model.id:
            raise UsageError("worker.model_mismatch", f"this worker serves {self._settings.model.id!r}")

    async def ohttp(self, scope: Scope, receive: Receive, send: Send, *, model: str | None = None) -> None:
        """``POST /ohttp``: ``message/ohttp-req`` in, ``message/ohttp-res`` out."""
        try:
            self._check_model(model)
            if _media_type(scope) != MEDIA_TYPE_REQUEST:
                raise UsageError("worker.unsupported_media_type", f"want {MEDIA_TYPE_REQUEST}")
            limit = self._settings.max_request_bytes
            body = b"".join([c async for c in _read_limited(scope, receive, limit)])
            plaintext, sealer = self._identity.server.open_request(body)
            inner_request = decode_request(plaintext)
        except AttestgwError as err:
            await problem_response(err)(scope, receive, send)
            return
        except _Disconnected:
            return
        reply = await self._answer(inner_request)
        receipt = self._receipt(plaintext, hashlib.sha256(reply.content).hexdigest(), body[0])
        try:
            encoded = encode_response(BhttpResponse(reply.status, (*reply.headers, receipt), reply.content))
        except FormatError:  # unreachable with the field filtering in InnerApp; fail closed anyway
            reply = _inner_error()
            receipt = self._receipt(plaintext, hashlib.sha256(reply.content).hexdigest(), body[0])
            encoded = encode_response(BhttpResponse(reply.status, (*reply.headers, receipt), reply.content))
        sealed = sealer.seal(encoded)
        headers = [(b"content-type", _RESPONSE_TYPE), (b"content-length", b"%d" % len(sealed))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": sealed})

    async def ohttp_chunked(
        self, scope: Scope, receive: Receive, send: Send, *, model: str | None = None
    ) -> None:
        """``POST /ohttp-chunked``: a chunked request in, a streamed chunked response out."""
        try:
            self._check_model(model)
            if _media_type(scope) != MEDIA_TYPE_CHUNKED_REQUEST:
                raise UsageError("worker.unsupported_media_type", f"want {MEDIA_TYPE_CHUNKED_REQUEST}")
            reader = self._identity.server.chunked_request_reader()
            parts: list[bytes] = []
            key_id = -1
            async for chunk in _read_limited(scope, receive, self._settings.max_request_bytes):
                if key_id < 0:
                    key_id = chunk[0]
                parts.extend(reader.feed(chunk))
            final, sealer = reader.finish()
            plaintext = b"".join([*parts, final])
            inner_request = decode_request(plaintext)
        except AttestgwError as err:
            await problem_response(err)(scope, receive, send)
            return
        except _Disconnected:
            return
        response = StreamingResponse(
            self._stream(inner_request, plaintext, key_id, sealer),
            media_type=MEDIA_TYPE_CHUNKED_RESPONSE,
            headers={"incremental": "?1", "cache-control": "no-store"},
        )
        await response(scope, receive, send)

    # -- answering ---------------------------------------------------------------------------------

    def _receipt(self, request_bytes: bytes, response_sha256: str, key_id: int) -> Field:
        model = self._settings.model
        receipt = self._identity.receipt_signer.sign(
            request_sha256=hashlib.sha256(request_bytes).hexdigest(),
            response_sha256=response_sha256,
            model=model.id,
            model_digest=model.digest,
            evidence_digest=self._identity.evidence_digest,
            key_id=key_id,
            at=int(self._clock()),
        )
        return Field(RECEIPT_FIELD, encode_receipt(receipt).encode("ascii"))

    def _refusal(self, request: Request) -> _Reply | None:
        """Step 4: a stale ``Date`` or a model this worker does not serve."""
        dates = field_values(request.headers, b"date")
        if dates:
            now = self._clock()
            sent = _http_date(dates[0])
            horizon = self._identity.server.replay_window.horizon()
            if sent is None or not horizon <= sent <= now + self._settings.date_skew_s:
                headers = (
                    Field(b"content-type", PROBLEM_MEDIA_TYPE.encode("ascii")),
                    Field(b"date", formatdate(now, usegmt=True).encode("ascii")),
                )
                body = problem_body("worker.stale_request", 400, problem_type=DATE_PROBLEM_TYPE)
                return _Reply(400, headers, body)
        path = request.path.partition(b"?")[0].decode("ascii", "replace")
        if request.method != b"POST" or path not in self._settings.inference_paths:
            return None
        try:
            payload = json.loads(request.content)
        except ValueError:
            return None  # not JSON: the inner API answers with its own 400
        served = self._settings.model.id
        named = payload.get("model") if isinstance(payload, dict) else served
        if named == served:
            return None
        shown = repr(named)[:_MODEL_SHOWN]
        return _openai_error(
            404,
            "worker.model_mismatch",
            f"the request names model {shown}; this worker serves {served!r}",
            kind="invalid_request_error",
            param="model",
        )

    async def _answer(self, request: Request) -> _Reply:
        """The whole inner response (for ``/ohttp``)."""
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        try:
            start, content = await self._inner.call(request)
        except InnerAppError:
            return _inner_error()
        return _Reply(start.status, start.headers, content)

    async def _stream(
        self, request: Request, plaintext: bytes, key_id: int, sealer: ChunkedResponseSealer
    ) -> AsyncIterator[bytes]:
        """The sealed chunks of an indeterminate-length response (for ``/ohttp-chunked``)."""
        encoder = ResponseStreamEncoder()
        digest = RunningDigest()
        refusal = self._refusal(request)
        if refusal is None:
            started = False
            try:
                async with aclosing(self._inner.stream(request)) as events:
                    async for event in events:
                        if isinstance(event, InnerStart):
                            yield sealer.seal_chunk(encoder.head(event.status, event.headers))
                            started = True
                        else:
                            digest.update(event.data)
                            yield sealer.seal_chunk(encoder.body(event.data))
            except (InnerAppError, FormatError, ValueError):
                if started:
                    return  # no final chunk: the client must see a truncated answer, not a complete one
                refusal = _inner_error()
        if refusal is not None:
            digest.update(refusal.content)
            yield sealer.seal_chunk(
                encoder.head(refusal.status, refusal.headers) + encoder.body(refusal.content)
            )
        receipt = self._receipt(plaintext, digest.hexdigest(), key_id)
        yield sealer.seal_final(encoder.end([receipt]))
