"""The relay: who may ask (identity, authorization, quotas), which worker answers, and moving the bytes.

For every relay route, in order: (1) authenticate the ``Authorization`` header; (2) authorize
principal × action × model — a denial is recorded (``authorization.denied``: principal digest, action,
model, decision id) and answered 403; (3) the model must be one the pool may serve (404
``gateway.not_found``); (4) ``quotas.check_rate``; (5) pick workers (:meth:`WorkerPool.choose`) —
for a sealed request by the key id in its first byte and, when sent, the ``Attestgw-Key-Config``
header (SHA-256 hex of the ``application/ohttp-keys`` body the client attested); (6) forward.
A worker whose connection cannot be opened is marked unhealthy and the next candidate is tried; a
failure after the request may have reached the worker is ``502 gateway.upstream_failed`` and is
never retried (a sealed request is single use). No candidate: ``503 gateway.no_worker``.

The gateway never decrypts: it reads the first byte (key id) and hashes the ciphertext for the record
(``inference.relayed``: principal digest, model, worker id, key id, ciphertext SHA-256, whether it
streamed, and the attestation entry the worker's admission rests on). With an evidence log, an
attestation answer is also appraised, recorded and proven (:mod:`attestgw.gateway.log_routes`); the
log API's routes share steps 1, 2 and 4 (``read_log`` on ``log``) through :meth:`Relay.guard_log`.
Chunked exchanges hold one concurrent-stream quota slot for their whole duration. Worker refusals of
a sealed request (400/413/415/422 problems with a worker code) are passed on with the worker's code;
anything else
unexpected from a worker is ``502``.

Not checked here: the content of sealed messages (the worker opens them; the client verifies the
attestation and receipts itself, so a misbehaving gateway is caught end to end).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from attestgw.access import Action
from attestgw.errors import AttestgwError
from attestgw.gateway.log_routes import AttestationLog
from attestgw.gateway.observability import Metrics
from attestgw.gateway.pool import Worker, WorkerPool
from attestgw.gateway.problems import GatewayError, worker_refusal
from attestgw.gateway.services import GatewayServices
from attestgw.gateway.settings import RelaySettings
from attestgw.gateway.streams import RelayStream, RequestBody
from attestgw.gateway.upstream import ConnectFailed, Upstream
from attestgw.identity import Principal
from attestgw.ohttp import (
    MEDIA_TYPE_CHUNKED_REQUEST,
    MEDIA_TYPE_CHUNKED_RESPONSE,
    MEDIA_TYPE_KEYS,
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_RESPONSE,
)

__all__ = ["KEY_CONFIG_HEADER", "Relay"]

#: Optional request header: SHA-256 (64 lowercase hex) of the ``application/ohttp-keys`` body attested.
KEY_CONFIG_HEADER = "attestgw-key-config"
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_NO_STORE = {"Cache-Control": "no-store"}
#: The largest one-shot sealed response read from a worker (it is buffered to answer cleanly).
MAX_ONE_SHOT_RESPONSE = 64 * 1024 * 1024


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class Relay:
    """The relay routes' logic for one app (see module docstring)."""

    def __init__(
        self,
        settings: RelaySettings,
        services: GatewayServices,
        upstream: Upstream,
        metrics: Metrics,
        log: Any,
    ) -> None:
        self._settings = settings
        self._services = services
        self._pool: WorkerPool = services.pool
        self._upstream = upstream
        self._metrics = metrics
        self._log = log
        evidence_log = services.evidence_log
        self._attestations = (
            AttestationLog(evidence_log, services.recorder) if evidence_log is not None else None
        )

    # -- access ------------------------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Principal:
        return await self._services.authenticator.authenticate(request.headers.get("authorization"))

    async def guard(self, request: Request, action: Action, model: str) -> Principal:
        """Steps 1-4 of the module docstring; the principal when every check passed."""
        principal = await self._authorized(request, action, model)
        if not self._pool.knows(model):
            raise GatewayError("gateway.not_found", f"no worker is configured for model {model!r}")
        self._services.quotas.check_rate(principal)
        return principal

    async def guard_log(self, request: Request) -> Principal:
        """Steps 1, 2 and 4 for the evidence-log API: ``read_log`` on the resource ``log``."""
        principal = await self._authorized(request, Action.READ_LOG, "log")
        self._services.quotas.check_rate(principal)
        return principal

    async def guard_witness(self, request: Request) -> Principal:
        """Steps 1 and 4 for the log's tree heads (checkpoint, consistency proofs): any authenticated
        caller. They are hashes only, and every relying party needs them to detect a split view."""
        principal = await self.authenticate(request)
        self._services.quotas.check_rate(principal)
        return principal

    async def _authorized(self, request: Request, action: Action, resource: str) -> Principal:
        principal = await self.authenticate(request)
        decision = self._services.authorizer.authorize(principal, action, resource)
        if not decision.allowed:
            await self.record(
                "authorization.denied",
                {
                    "decision_id": decision.decision_id,
                    "principal_digest": principal.digest,
                    "action": action.value,
                    "resource": resource,
                    "policy_ids": list(decision.policy_ids),
                    "code": "access.denied",
                },
            )
            decision.raise_for_denial()
        return principal

    def allowed_models(self, principal: Principal) -> list[str]:
        """Models with an admitted worker that ``principal`` may list."""
        authorize = self._services.authorizer.authorize
        return [m for m in self._pool.models() if authorize(principal, Action.LIST_MODELS, m).allowed]

    async def record(self, kind: str, fields: dict[str, object]) -> None:
        """Hand a record to the recorder (in a thread: it may write to disk or a database). A failure
        is logged and counted, and does not undo an exchange that already happened."""
        try:
            await asyncio.to_thread(self._services.recorder.record, kind, fields)
        except Exception as exc:
            code = exc.code if isinstance(exc, AttestgwError) else type(exc).__name__
            self._log.error("record.failed", kind=kind, code=code)
            self._metrics.upstream_errors.labels("recorder", "record_failed").inc()

    def _candidates(
        self, model: str, key_id: int | None = None, keys_sha256: str | None = None
    ) -> list[Worker]:
        workers = self._pool.choose(model, key_id=key_id, keys_sha256=keys_sha256)
        if not workers:
            pinned = " holding that key config" if key_id is not None else ""
            raise GatewayError("gateway.no_worker", f"no admitted, healthy worker serves {model!r}{pinned}")
        return workers

    def _fail(self, worker: Worker, err: GatewayError) -> GatewayError:
        if err.code == "gateway.upstream_failed":
            self._pool.mark_failed(worker, err.code)
        else:
            self._metrics.upstream_errors.labels(worker.id, err.code).inc()
        return err

    # -- attestation and key configs ---------------------------------------------------------------

    async def _get(self, model: str, path: str, params: dict[str, str] | None) -> tuple[Worker, bytes, str]:
        for worker in self._candidates(model):
            with self._pool.lease(worker):
                try:
                    answer = await self._upstream.get(worker.url + path, params=params)
                except ConnectFailed:
                    self._pool.mark_failed(worker, "worker.unreachable")
                    continue
                except GatewayError as err:
                    raise self._fail(worker, err) from None
            if answer.status != 200:
                raise self._fail(
                    worker, GatewayError("gateway.upstream_failed", f"{path} answered {answer.status}")
                )
            return worker, answer.body, answer.content_type
        raise GatewayError("gateway.no_worker", f"no worker serving {model!r} could be reached")

    async def attestation(self, principal: Principal, model: str, nonce: str) -> Response:
        """The worker's bundle for the client's nonce, byte for byte; with an evidence log, also
        appraised, recorded and proven (:class:`~attestgw.gateway.log_routes.AttestationLog`)."""
        worker, body, _ = await self._get(model, "/attestation", {"nonce": nonce})
        headers = dict(_NO_STORE)
        if self._attestations is not None:
            headers.update(await self._attestations.record(worker.id, body, bytes.fromhex(nonce)))
        return Response(body, media_type="application/json", headers=headers)

    async def ohttp_keys(self, principal: Principal, model: str) -> Response:
        _, body, _ = await self._get(model, "/ohttp-keys", None)
        return Response(body, media_type=MEDIA_TYPE_KEYS, headers=_NO_STORE)

    # -- sealed requests -----------------------------------------------------------------------------

    def _check_request(self, request: Request, media_type: str) -> str | None:
        if _media(request) != media_type:
            raise GatewayError("gateway.unsupported_media_type", f"want Content-Type {media_type}")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._settings.max_request_bytes):
            raise GatewayError(
                "gateway.request_too_large", f"at most {self._settings.max_request_bytes} bytes"
            )
        pinned = request.headers.get(KEY_CONFIG_HEADER)
        if pinned is not None and not _HEX64.match(pinned):
            raise GatewayError(
                "gateway.request_invalid", f"{KEY_CONFIG_HEADER} must be 64 lowercase hex digits"
            )
        return pinned

    async def _read(self, request: Request) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for piece in request.stream():
            size += len(piece)
            if size > self._settings.max_request_bytes:
                raise GatewayError(
                    "gateway.request_too_large", f"at most {self._settings.max_request_bytes} bytes"
                )
            parts.append(piece)
        body = b"".join(parts)
        if not body:
            raise GatewayError("gateway.request_invalid", "the sealed request is empty")
        return body

    async def _refusal(self, worker: Worker, upstream: Any, request_id: str) -> Response:
        """A non-200 (or mistyped) answer: the worker's refusal passed on, or 502."""
        body = await self._upstream.read_small(upstream, 64 * 1024)
        refusal = worker_refusal(upstream.status, upstream.headers.get("Content-Type", ""), body, request_id)
        if refusal is None:
            raise self._fail(
                worker, GatewayError("gateway.upstream_failed", f"the worker answered {upstream.status}")
            )
        return refusal

    async def sealed(self, request: Request, principal: Principal, model: str, request_id: str) -> Response:
        """``POST /v1/models/{model}/ohttp``: one sealed request, one sealed response."""
        pinned = self._check_request(request, MEDIA_TYPE_REQUEST)
        body = await self._read(request)
        self._metrics.relayed_bytes.labels("ohttp", "request").inc(len(body))
        for worker in self._candidates(model, body[0], pinned):
            with self._pool.lease(worker):
                try:
                    async with self._upstream.post(
                        worker.url + "/ohttp", content_type=MEDIA_TYPE_REQUEST, data=body
                    ) as upstream:
                        if upstream.status == 200 and upstream.content_type == MEDIA_TYPE_RESPONSE:
                            answer = await self._upstream.read_small(upstream, MAX_ONE_SHOT_RESPONSE)
                            response: Response = Response(
                                answer, media_type=MEDIA_TYPE_RESPONSE, headers=_NO_STORE
                            )
                            self._metrics.relayed_bytes.labels("ohttp", "response").inc(len(answer))
                        else:
                            response = await self._refusal(worker, upstream, request_id)
                except ConnectFailed:
                    self._pool.mark_failed(worker, "worker.unreachable")
                    continue
                except GatewayError as err:
                    raise self._fail(worker, err) from None
            await self.record(
                "inference.relayed", self._fields(principal, model, worker, body[0], body, False)
            )
            return response
        raise GatewayError("gateway.no_worker", f"no worker serving {model!r} with that key could be reached")

    @staticmethod
    def _fields(
        principal: Principal, model: str, worker: Worker, key_id: int, body: bytes | str, stream: bool
    ) -> dict[str, object]:
        """An ``inference.relayed`` record: digests and ids only, and the attestation it relied on."""
        digest = body if isinstance(body, str) else hashlib.sha256(body).hexdigest()
        admission = worker.admission
        return {
            "principal_digest": principal.digest,
            "model": model,
            "worker": worker.id,
            "key_id": key_id,
            "ciphertext_digest": digest,
            "attestation_index": admission.attestation_index if admission is not None else 0,
            "stream": stream,
        }

    async def _first_piece(self, request: Request) -> tuple[bytes, AsyncIterator[bytes]]:
        source = request.stream()
        async for piece in source:
            if piece:
                return piece, source
        raise GatewayError("gateway.request_invalid", "the sealed request is empty")

    async def chunked(self, request: Request, principal: Principal, model: str, request_id: str) -> Response:
        """``POST /v1/models/{model}/ohttp-chunked``: both bodies streamed, one quota stream slot held."""
        pinned = self._check_request(request, MEDIA_TYPE_CHUNKED_REQUEST)
        first, source = await self._first_piece(request)
        key_id = first[0]
        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(self._services.quotas.stream(principal))
            body = RequestBody(first, source, self._settings.max_request_bytes)
            for worker in self._candidates(model, key_id, pinned):
                lease = AsyncExitStack()
                lease.enter_context(self._pool.lease(worker))
                try:
                    upstream = await lease.enter_async_context(
                        self._upstream.post(
                            worker.url + "/ohttp-chunked", content_type=MEDIA_TYPE_CHUNKED_REQUEST, data=body
                        )
                    )
                except ConnectFailed:
                    await lease.aclose()
                    self._pool.mark_failed(worker, "worker.unreachable")
                    if body.started:
                        raise GatewayError(
                            "gateway.upstream_failed", "the worker went away while receiving"
                        ) from None
                    continue
                except GatewayError as err:
                    await lease.aclose()
                    raise self._fail(worker, err) from None
                stack.push_async_exit(lease)
                return await self._answer(request_id, principal, model, worker, key_id, body, upstream, stack)
            raise GatewayError(
                "gateway.no_worker", f"no worker serving {model!r} with that key could be reached"
            )
        except BaseException:
            await stack.aclose()
            raise

    async def _answer(
        self,
        request_id: str,
        principal: Principal,
        model: str,
        worker: Worker,
        key_id: int,
        body: RequestBody,
        upstream: Any,
        stack: AsyncExitStack,
    ) -> Response:
        if body.too_large:
            raise GatewayError(
                "gateway.request_too_large", f"at most {self._settings.max_request_bytes} bytes"
            )
        if upstream.status != 200 or upstream.content_type != MEDIA_TYPE_CHUNKED_RESPONSE:
            response = await self._refusal(worker, upstream, request_id)
            await stack.aclose()
            await self.record(
                "inference.relayed",
                self._fields(principal, model, worker, key_id, body.digest.hexdigest(), True),
            )
            return response

        async def pieces() -> AsyncIterator[bytes]:
            try:
                async for piece in self._upstream.pieces(upstream):
                    yield piece
            except GatewayError as err:
                raise self._fail(worker, err) from None

        return RelayStream(
            pieces(),
            media_type=MEDIA_TYPE_CHUNKED_RESPONSE,
            headers=_NO_STORE,
            cleanup=stack,
            body_done=body.done,
            on_end=self._stream_ended(principal, model, worker, key_id, body),
        )

    def _stream_ended(
        self, principal: Principal, model: str, worker: Worker, key_id: int, body: RequestBody
    ) -> Callable[[str, int], Awaitable[None]]:
        async def ended(outcome: str, sent: int) -> None:
            self._metrics.relayed_bytes.labels("ohttp-chunked", "request").inc(body.size)
            self._metrics.relayed_bytes.labels("ohttp-chunked", "response").inc(sent)
            if outcome != "complete":
                self._log.warning("relay.stream_cut", worker=worker.id, model=model, outcome=outcome)
            await self.record(
                "inference.relayed",
                self._fields(principal, model, worker, key_id, body.digest.hexdigest(), True),
            )

        return ended
