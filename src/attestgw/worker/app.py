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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
    identity = WorkerIdentity.start(services.cpu_attester, pq_key=settings.pq_key, replay_window=window)
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

    async def model_ohttp(request: Request) -> Response:
        try:
            check_model(request.path_params["model"])
        except AttestgwError as err:
            return problem_response(err)
        return await sealed.ohttp(request)

    async def model_ohttp_chunked(request: Request) -> Response:
        try:
            check_model(request.path_params["model"])
        except AttestgwError as err:
            return problem_response(err)
        return await sealed.ohttp_chunked(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        await services.inner_app({**scope, "state": dict(inner.state)}, receive, send)

    # The paths are disjoint, so order only decides how many patterns a request is tried against:
    # the sealed routes (every inference request) come first.
    routes: list[BaseRoute] = [
        Route("/v1/models/{model:str}/ohttp", model_ohttp, methods=["POST"]),
        Route("/v1/models/{model:str}/ohttp-chunked", model_ohttp_chunked, methods=["POST"]),
        Route("/ohttp", sealed.ohttp, methods=["POST"]),
        Route("/ohttp-chunked", sealed.ohttp_chunked, methods=["POST"]),
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

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.identity = identity
    return app
