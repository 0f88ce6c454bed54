"""The outermost ASGI layer of the gateway: request ids, draining, metrics, access logs, last-resort errors.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which would buffer streamed
responses). For each HTTP request:

1. the request id is the caller's ``X-Request-Id`` when well-formed, else a fresh one
   (:func:`~attestgw.gateway.observability.request_id`); it is put in ``scope["state"]`` for the
   handlers and returned in ``X-Request-Id`` on every response;
2. while the gateway drains (:class:`Lifecycle`), new requests other than ``/healthz`` and
   ``/metrics`` are refused with ``503 gateway.shutting_down`` and ``Connection: close``; streams in
   flight go on until they end;
3. metrics by route *template* (``scope["route"]`` after routing; ``unmatched`` otherwise);
4. one access log line: method, route template, status, duration, request id — never the raw path's
   query, a header value or a body;
5. an exception no handler mapped becomes ``500 gateway.internal_error`` (if the response has not
   started) and an ``request.failed`` log line naming only the exception type: messages could carry
   internals, and tracebacks are not an API.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attestgw.gateway.observability import REQUEST_ID_HEADER, Metrics, request_id
from attestgw.gateway.problems import GatewayError, problem_response

__all__ = ["EdgeMiddleware", "Lifecycle"]

_ALWAYS = frozenset({"/healthz", "/metrics"})


class Lifecycle:
    """Shared by the app and its server: ``draining`` turns true when shutdown begins."""

    __slots__ = ("draining",)

    def __init__(self) -> None:
        self.draining = False

    def begin_drain(self) -> None:
        self.draining = True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, log: Any, lifecycle: Lifecycle, access_log: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log = log
        self.lifecycle = lifecycle
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (REQUEST_ID_HEADER.encode(), rid.encode("ascii"))
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), rid_header]}
            await send(message)

        begin = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            if self.lifecycle.draining and scope["path"] not in _ALWAYS:
                refusal = problem_response(
                    GatewayError("gateway.shutting_down", "the gateway is shutting down"), rid
                )
                refusal.headers["Connection"] = "close"
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            self.log.error("request.failed", request_id=rid, error=type(exc).__name__)
            if not started:
                await problem_response(exc, rid)(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - begin
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(elapsed)
            if self.access_log:
                self.log.info(
                    "request",
                    request_id=rid,
                    method=method,
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 3),
                )
