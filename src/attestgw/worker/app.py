"""The enclave worker as a Starlette app: ``create_app(settings, services)`` (docs/worker-protocol.md).

Routes:

* ``GET /attestation?nonce=HEX`` — the evidence bundle bound to the nonce and this worker's keys;
* ``GET /ohttp-keys`` — the ``application/ohttp-keys`` body the bundle carries;
* ``POST /ohttp`` / ``POST /ohttp-chunked`` — sealed requests (:mod:`attestgw.worker.sealed`);
* ``GET /healthz`` — liveness;
* the same three under the gateway's route shapes, so a client speaks one protocol to a worker and
  to a gateway: ``GET /v1/attestation?nonce=HEX[&model=M]``, ``GET /v1/ohttp-keys[?model=M]``,
  ``POST /v1/models/{model}/ohttp`` and ``…/ohttp-chunked`` (a model other than the served one is
  refused outside the seal: 404 ``worker.model_mismatch``);
* ``/plain/...`` — only with ``bench_plaintext``: the inner app **unsealed**, for the channel
  benchmark's plaintext baseline. INSECURE: anything sent there is readable by every hop.

Creating the app generates the OHTTP and receipt keys in memory and collects one report from the
attester (see :mod:`attestgw.worker.identity`); the inner app's lifespan runs with the worker's.
Nothing is global: two apps in one process have distinct keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from attestgw.errors import AttestgwError, UsageError
from attestgw.ohttp import MEDIA_TYPE_KEYS, ReplayWindow
from attestgw.worker.attestation import AttestationService, parse_nonce
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.inner import InnerApp
from attestgw.worker.problems import problem_body, problem_response
from attestgw.worker.sealed import SealedRoutes
from attestgw.worker.settings import WorkerServices, WorkerSettings

__all__ = ["create_app"]

_NO_STORE = {"cache-control": "no-store"}


def create_app(settings: WorkerSettings, services: WorkerServices) -> Starlette:
    """The worker app. Generates keys and checks the attester now; raises if the attester fails.

    ``app.state.identity`` exposes the :class:`WorkerIdentity` (public parts only matter to callers:
    key configs, receipt key, measurement) for the CLI banner and tests.
    """
    window = ReplayWindow(
        max_entries=settings.replay_max_entries, max_age_s=settings.replay_max_age_s, clock=services.clock
    )
    identity = WorkerIdentity.start(
        services.cpu_attester,
        pq_key=settings.pq_key,
        replay_window=window,
        receipt_algorithm=settings.receipt_algorithm,
    )
    attestation = AttestationService(
        identity, services.cpu_attester, (settings.model,), gpu_attester=services.gpu_attester
    )
    inner = InnerApp(services.inner_app)
    sealed = SealedRoutes(settings, services, identity, inner)

    def check_model(model: str | None) -> None:
        if model is not None and model != settings.model.id:
            raise UsageError("worker.model_mismatch", f"this worker serves {settings.model.id!r}")

    async def get_attestation(request: Request) -> Response:
        try:
            check_model(request.query_params.get("model"))
            nonce = parse_nonce(request.query_params.get("nonce"))
            bundle = await run_in_threadpool(attestation.bundle, nonce)
        except AttestgwError as err:
            return problem_response(err)
        return JSONResponse(bundle, headers=_NO_STORE)

    async def get_keys(request: Request) -> Response:
        try:
            check_model(request.query_params.get("model"))
        except AttestgwError as err:
            return problem_response(err)
        return Response(identity.ohttp_keys, media_type=MEDIA_TYPE_KEYS, headers=_NO_STORE)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        await services.inner_app({**scope, "state": dict(inner.state)}, receive, send)

    # A POST to a sealed route normally never reaches the router (see _WorkerApp); these entries
    # serve the rest: a wrong method (405 with Allow) and apps mounted under a root path.
    one_shot, chunked = _SealedEndpoint(sealed.ohttp), _SealedEndpoint(sealed.ohttp_chunked)
    routes: list[BaseRoute] = [
        Route("/v1/models/{model:str}/ohttp", one_shot, methods=["POST"]),
        Route("/v1/models/{model:str}/ohttp-chunked", chunked, methods=["POST"]),
        Route("/ohttp", one_shot, methods=["POST"]),
        Route("/ohttp-chunked", chunked, methods=["POST"]),
        Route("/attestation", get_attestation, methods=["GET"]),
        Route("/ohttp-keys", get_keys, methods=["GET"]),
        Route("/v1/attestation", get_attestation, methods=["GET"]),
        Route("/v1/ohttp-keys", get_keys, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if settings.bench_plaintext:
        routes.append(Mount("/plain", app=plain))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await inner.startup()
        try:
            yield
        finally:
            await inner.shutdown()

    async def http_error(request: Request, exc: Exception) -> Response:
        # Unknown routes and wrong methods get problem+json like every other outer error.
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = exc.headers if isinstance(exc, HTTPException) else None  # keeps Allow on a 405
        return Response(
            problem_body("usage.invalid", status),
            status_code=status,
            headers=headers,
            media_type="application/problem+json",
        )

    app = _WorkerApp(sealed, routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.identity = identity
    return app


_SealedHandler = Callable[..., Awaitable[None]]


class _SealedEndpoint:
    """A sealed route as an ASGI endpoint of Starlette's router; the model comes from the path."""

    __slots__ = ("_handler",)

    def __init__(self, handler: _SealedHandler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(scope, receive, send, model=scope.get("path_params", {}).get("model"))


class _WorkerApp(Starlette):
    """Starlette with the sealed POST routes answered before its middleware and router.

    Every inference request is such a POST, and the sealed handlers answer every outcome themselves
    (problem+json outside the seal, everything else inside), so the framework's layers add only
    cost there. The match is exact — ``/ohttp``, ``/ohttp-chunked``, ``/v1/models/{model}/ohttp``,
    ``…/ohttp-chunked`` with a model of one path segment, no root path — and anything else takes
    Starlette's way, which reaches the same handlers.
    """

    def __init__(self, sealed: SealedRoutes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._direct: dict[str, _SealedHandler] = {
            "ohttp": sealed.ohttp,
            "ohttp-chunked": sealed.ohttp_chunked,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith("/v1/models/"):
                model, _, route = path[len("/v1/models/") :].partition("/")
                handler = self._direct.get(route) if model else None
                if handler is not None:
                    await handler(scope, receive, send, model=model)
                    return
            elif (handler := self._direct.get(path[1:])) is not None:  # ASGI paths start with /
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
