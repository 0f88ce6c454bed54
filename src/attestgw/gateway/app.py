"""The gateway as a FastAPI app: ``create_app(settings, services)`` (no import-time state).

Routes (docs/gateway.md): ``GET /v1/attestation?nonce=&model=``, ``GET /v1/ohttp-keys?model=``,
``POST /v1/models/{model}/ohttp``, ``POST /v1/models/{model}/ohttp-chunked``, ``GET /v1/models``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics``, and the evidence log's ``GET /v1/log/checkpoint``,
``/v1/log/entries``, ``/v1/log/proof/inclusion``, ``/v1/log/proof/consistency``
(:mod:`attestgw.gateway.log_routes`). Handlers are thin: parse, call the relay, map.
Errors become problem+json in :mod:`attestgw.gateway.problems` only; validation errors are ``400
gateway.request_invalid`` (not FastAPI's 422 shape), unknown routes ``404 gateway.not_found``, wrong
methods ``405 gateway.method_not_allowed``.

The lifespan starts the upstream client and the worker pool (admission runs in the background:
``/readyz`` turns 200 once a worker is admitted) and stops both after uvicorn drained the requests in
flight. ``app.state`` exposes ``pool``, ``metrics`` and ``lifecycle`` (the server sets
``lifecycle.draining`` when shutdown begins, see :mod:`attestgw.gateway.server`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from attestgw import __version__
from attestgw.access import Action
from attestgw.errors import AttestgwError
from attestgw.gateway.edge import EdgeMiddleware, Lifecycle
from attestgw.gateway.log_routes import LOG_HEADERS, LogApiError, add_log_routes
from attestgw.gateway.observability import Metrics, make_logger
from attestgw.gateway.openapi import (
    ACCESS_PROBLEMS,
    RELAY_PROBLEMS,
    SEALED_PROBLEMS,
    binary_body,
    binary_response,
    json_response,
    problems,
)
from attestgw.gateway.problems import PROBLEM_MEDIA_TYPE, GatewayError, problem_body, problem_response
from attestgw.gateway.relay import KEY_CONFIG_HEADER, Relay
from attestgw.gateway.services import GatewayServices
from attestgw.gateway.settings import GatewaySettings
from attestgw.gateway.upstream import Upstream
from attestgw.ohttp import (
    MEDIA_TYPE_CHUNKED_REQUEST,
    MEDIA_TYPE_CHUNKED_RESPONSE,
    MEDIA_TYPE_KEYS,
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_RESPONSE,
)

__all__ = ["create_app"]

_MODEL = r"^[\x21-\x7e]{1,256}$"
_NONCE = r"^[0-9a-f]{64}$"
ModelQuery = Annotated[str, Query(pattern=_MODEL, description="model id (as the worker's bundle lists it)")]
ModelPath = Annotated[str, Path(pattern=_MODEL, description="model id (as the worker's bundle lists it)")]
_MODELS_SCHEMA = {
    "type": "object",
    "properties": {
        "object": {"type": "string"},
        "data": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
    },
}
_STATUS_SCHEMA = {"type": "object", "properties": {"status": {"type": "string"}}}
_KEY_HEADER_DOC = {
    "parameters": [
        {
            "name": KEY_CONFIG_HEADER,
            "in": "header",
            "required": False,
            "description": "SHA-256 (64 lowercase hex) of the application/ohttp-keys body the client "
            "attested: routes to that worker (sticky)",
            "schema": {"type": "string", "pattern": _NONCE},
        }
    ]
}

_LOG_HEADER_DOC = {
    name: {"description": f"with an evidence log: {what} (docs/gateway.md)", "schema": {"type": "string"}}
    for name, what in zip(
        LOG_HEADERS,
        (
            "index of this answer's attestation.appraised entry",
            "base64 of that entry's record bytes",
            "base64 of the signed checkpoint covering it",
            "its inclusion proof, base64 hashes, comma-separated",
        ),
        strict=True,
    )
}


def _rid(request: Request) -> str:
    return str(request.state.request_id)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document without its default 422 validation responses (the gateway answers 400)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in doc.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
                    del responses["422"]
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        if "components" in doc and not schemas:
            doc["components"].pop("schemas", None)
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(settings: GatewaySettings, services: GatewayServices) -> FastAPI:
    """The gateway app over ``services`` (see module docstring). Nothing starts before the lifespan."""
    metrics = Metrics()
    log = make_logger(services.log_stream)
    lifecycle = Lifecycle()
    upstream = Upstream(settings.relay)
    relay = Relay(settings.relay, services, upstream, metrics, log)
    pool = services.pool

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upstream.start()
        await pool.start(upstream, metrics, log)
        log.info("gateway.started", workers=len(pool.workers))
        try:
            yield
        finally:
            lifecycle.begin_drain()
            await pool.stop()
            await upstream.close()
            log.info("gateway.stopped")

    app = FastAPI(
        title="attestgw gateway",
        version=__version__,
        description="Authenticating OHTTP relay in front of attested enclave workers (docs/gateway.md).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.pool, app.state.metrics, app.state.lifecycle = pool, metrics, lifecycle

    @app.exception_handler(AttestgwError)
    async def attestgw_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, AttestgwError) and not isinstance(exc, GatewayError):
            log.info("request.refused", request_id=_rid(request), code=exc.code)
        return problem_response(exc, _rid(request))

    @app.exception_handler(LogApiError)
    async def log_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LogApiError)
        return Response(
            problem_body(exc.code, exc.status, exc.message, _rid(request)),
            status_code=exc.status,
            headers={"Cache-Control": "no-store"},
            media_type=PROBLEM_MEDIA_TYPE,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        where = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg", "")) for e in errors
        )
        return problem_response(
            GatewayError("gateway.request_invalid", where or "invalid request"), _rid(request)
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            allow = exc.headers.get("Allow", "") if isinstance(exc, HTTPException) and exc.headers else ""
            error = GatewayError("gateway.method_not_allowed", "method not allowed", headers={"Allow": allow})
        elif status == 404:
            error = GatewayError("gateway.not_found", "no such route")
        else:
            error = GatewayError("gateway.request_invalid", "the request could not be read")
        return problem_response(error, _rid(request))

    @app.get(
        "/v1/attestation",
        response_class=Response,
        responses={
            200: {
                **json_response("the worker's attestation bundle, unchanged", {"type": "object"})[200],
                "headers": _LOG_HEADER_DOC,
            },
            **problems(RELAY_PROBLEMS),
        },
        summary="Attestation bundle of a worker serving the model, bound to the client's nonce",
    )
    async def attestation(
        request: Request,
        nonce: Annotated[str, Query(pattern=_NONCE, description="32 fresh bytes as 64 lowercase hex")],
        model: ModelQuery,
    ) -> Response:
        principal = await relay.guard(request, Action.ATTEST, model)
        return await relay.attestation(principal, model, nonce)

    @app.get(
        "/v1/ohttp-keys",
        response_class=Response,
        responses={**binary_response(MEDIA_TYPE_KEYS, "a worker's key configs"), **problems(RELAY_PROBLEMS)},
        summary="OHTTP key configurations of a worker serving the model (RFC 9458 tooling)",
    )
    async def ohttp_keys(request: Request, model: ModelQuery) -> Response:
        principal = await relay.guard(request, Action.ATTEST, model)
        return await relay.ohttp_keys(principal, model)

    @app.post(
        "/v1/models/{model:path}/ohttp",
        response_class=Response,
        openapi_extra={
            **binary_body(MEDIA_TYPE_REQUEST, "an RFC 9458 encapsulated request"),
            **_KEY_HEADER_DOC,
        },
        responses={
            **binary_response(MEDIA_TYPE_RESPONSE, "the encapsulated response"),
            **problems(SEALED_PROBLEMS),
        },
        summary="Relay one sealed request to a worker holding its key",
    )
    async def sealed(request: Request, model: ModelPath) -> Response:
        principal = await relay.guard(request, Action.INFER, model)
        return await relay.sealed(request, principal, model, _rid(request))

    @app.post(
        "/v1/models/{model:path}/ohttp-chunked",
        response_class=Response,
        openapi_extra={
            **binary_body(MEDIA_TYPE_CHUNKED_REQUEST, "a chunked OHTTP request"),
            **_KEY_HEADER_DOC,
        },
        responses={
            **binary_response(MEDIA_TYPE_CHUNKED_RESPONSE, "the chunked response, streamed"),
            **problems(SEALED_PROBLEMS),
        },
        summary="Relay a chunked sealed request; the response streams chunk by chunk",
    )
    async def chunked(request: Request, model: ModelPath) -> Response:
        principal = await relay.guard(request, Action.INFER, model)
        return await relay.chunked(request, principal, model, _rid(request))

    @app.get(
        "/v1/models",
        response_class=JSONResponse,
        responses={
            **json_response("models the caller may list", _MODELS_SCHEMA),
            **problems(ACCESS_PROBLEMS),
        },
        summary="Models served by admitted workers that the caller may list",
    )
    async def models(request: Request) -> Response:
        principal = await relay.authenticate(request)
        services.quotas.check_rate(principal)
        data = [{"id": m, "object": "model"} for m in relay.allowed_models(principal)]
        return JSONResponse({"object": "list", "data": data}, headers={"Cache-Control": "no-store"})

    @app.get("/healthz", responses={**json_response("alive", _STATUS_SCHEMA), **problems((405,))})
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", responses={**json_response("ready", _STATUS_SCHEMA), **problems((400, 405, 503))})
    async def readyz(request: Request) -> Response:
        if not pool.ready():
            return problem_response(
                GatewayError("gateway.no_worker", "no worker is admitted yet"), _rid(request)
            )
        return JSONResponse({"status": "ready", "workers": sum(w.routable for w in pool.workers)})

    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **problems((405,)),
        },
    )
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    add_log_routes(app, services.evidence_log, relay.guard_log, relay.guard_witness)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        EdgeMiddleware, metrics=metrics, log=log, lifecycle=lifecycle, access_log=settings.access_log
    )
    return app
