"""The local proxy: an OpenAI-compatible plaintext endpoint on loopback that attests, seals and relays.

Any OpenAI client (curl, LangChain, IDE plugins) pointed at ``http://127.0.0.1:PORT/v1`` works
unchanged; the prompt leaves this machine only sealed to a worker the caller's policy affirmed.

For each request to ``/v1/chat/completions``, ``/v1/completions`` or ``/v1/embeddings``:

1. the model is read from the JSON body (a body without a string ``model`` is refused here, 400);
2. the bearer token is the proxy's own (``--token``) when it has one, else the caller's
   ``Authorization: Bearer …`` (an OpenAI client's ``api_key``), forwarded to the gateway as the OIDC
   access token — never logged, never put in an error;
3. an :class:`~attestgw.client.AsyncAttestedTransport` for (token, model) attests (once per session
   TTL, shared between tokens through one :class:`~attestgw.client.SessionCache`), seals the request,
   relays it to the gateway and opens and checks the answer and its receipt;
4. the answer goes back as the worker's API gave it, streamed chunk by chunk for ``stream: true``;
   a one-shot answer carries ``attestgw-receipt`` (the verified, encoded receipt) as a header.

When attestation fails nothing is sealed or sent: the caller gets an OpenAI-shaped error naming the
refusal code (502 ``attestation_refused``), as for any other refusal of the channel. ``GET /v1/models``
is answered from the attested session of each model the proxy was told about (``models``), or, with
none, sealed through the session of the caller's last model.

Not done here: TLS (the proxy listens on loopback only, see :func:`check_loopback`) and any
authentication of local callers beyond what the gateway does with the forwarded token.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from attestgw.appraisal import SnpPolicy
from attestgw.attestation import BundlePolicy
from attestgw.client.async_transport import AsyncAttestedTransport
from attestgw.client.receipts import RECEIPT_FIELD
from attestgw.client.session import SessionCache
from attestgw.client.transport import RECEIPT_EXTENSION
from attestgw.errors import (
    AppraisalError,
    AttestgwError,
    AuthenticationError,
    AuthorizationError,
    CollateralUnavailableError,
    RateLimitedError,
    UsageError,
    VerificationError,
)
from attestgw.receipt import Receipt, encode_receipt

__all__ = ["ProxySettings", "check_loopback", "create_proxy_app"]

_INNER_BASE = "http://worker"
#: Routes whose JSON body names the model to route to.
_MODEL_ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
#: Fields of the caller's request that are not forwarded into the seal (hop-by-hop, or ours).
_DROPPED = frozenset(
    {
        "host",
        "authorization",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "proxy-authorization",
        "accept-encoding",
    }
)
_MAX_BODY = 4 << 20
_MAX_TRANSPORTS = 64


def check_loopback(host: str) -> None:
    """Refuse (``usage.invalid``) to listen anywhere but loopback: the proxy serves plaintext."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            "usage.invalid", f"the proxy serves plaintext and listens on loopback only, not {host}"
        )


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """``gateway``: the gateway's (or a worker's) base URL; ``token``: a fixed bearer token (else the
    caller's is forwarded); ``models``: the models ``GET /v1/models`` lists (else the last one used).
    """

    gateway: str
    policy: SnpPolicy | BundlePolicy
    token: str | None = field(default=None, repr=False)
    models: tuple[str, ...] = ()
    online: bool = False
    timeout: float = 120.0


def _error(
    status: int, code: str, message: str, kind: str, headers: Mapping[str, str] | None = None
) -> Response:
    # The OpenAI error shape, so that unmodified OpenAI clients surface code and message.
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _refused(err: AttestgwError) -> Response:
    """An attestgw refusal as the caller sees it (never with a token or a prompt in it)."""
    if isinstance(err, AuthenticationError):
        return _error(401, err.code, str(err), "authentication_error")
    if isinstance(err, AuthorizationError):
        return _error(403, err.code, str(err), "permission_error")
    if isinstance(err, RateLimitedError):
        return _error(429, err.code, str(err), "rate_limit_error", {"retry-after": str(err.retry_after)})
    if isinstance(err, (AppraisalError, VerificationError)):
        return _error(502, err.code, f"attestation refused, nothing was sent: {err}", "attestation_refused")
    if isinstance(err, CollateralUnavailableError):
        return _error(503, err.code, str(err), "attestation_unavailable")
    if isinstance(err, UsageError):
        return _error(400, err.code, str(err), "invalid_request_error")
    return _error(502, err.code, str(err), "sealed_channel_error")


class _Transports:
    """One attested transport per (token digest, model), least recently used evicted, one session cache."""

    def __init__(self, settings: ProxySettings) -> None:
        self._settings = settings
        self._cache = SessionCache()
        self._entries: OrderedDict[tuple[str, str], tuple[AsyncAttestedTransport, httpx.AsyncClient]] = (
            OrderedDict()
        )
        self._retiring: set[asyncio.Task[None]] = set()

    def client(self, token: str | None, model: str) -> tuple[AsyncAttestedTransport, httpx.AsyncClient]:
        key = (hashlib.sha256((token or "").encode("utf-8")).hexdigest(), model)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        s = self._settings
        transport = AsyncAttestedTransport(
            s.gateway,
            s.policy,
            cache=self._cache,
            online=s.online,
            model=model,
            token=token,
            attest_timeout=s.timeout,
        )
        entry = (transport, httpx.AsyncClient(transport=transport, timeout=s.timeout))
        self._entries[key] = entry
        while len(self._entries) > _MAX_TRANSPORTS:
            _, (_, old) = self._entries.popitem(last=False)
            task = asyncio.get_running_loop().create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        return entry

    async def _retire(self, client: httpx.AsyncClient) -> None:
        """Close an evicted client once a stream still in flight on it has had its timeout to end."""
        try:
            await asyncio.sleep(self._settings.timeout)
        finally:
            await client.aclose()

    async def aclose(self) -> None:
        for task in list(self._retiring):
            task.cancel()  # its finally closes the client
        await asyncio.gather(*self._retiring, return_exceptions=True)
        for _, client in self._entries.values():
            await client.aclose()
        self._entries.clear()


def _token(settings: ProxySettings, request: Request) -> str | None:
    if settings.token:
        return settings.token
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _model_of(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        raise UsageError("usage.invalid", "the request body is not JSON") from None
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or not model:
        raise UsageError("usage.invalid", "the request body names no model")
    return model


def _forwarded_headers(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}


def _receipt_header(receipt: Receipt | None) -> dict[str, str]:
    return {} if receipt is None else {RECEIPT_FIELD.decode("ascii"): encode_receipt(receipt)}


def create_proxy_app(settings: ProxySettings) -> Starlette:
    """The proxy as an ASGI app (run it with uvicorn on loopback)."""
    transports = _Transports(settings)
    last_model: list[str] = list(settings.models[:1])

    async def relay(request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _error(
                413, "usage.invalid", f"request body over {_MAX_BODY} bytes", "invalid_request_error"
            )
        try:
            model = _model_of(body)
            _, client = transports.client(_token(settings, request), model)
            inner = client.build_request(
                "POST", _INNER_BASE + request.url.path, content=body, headers=_forwarded_headers(request)
            )
            response = await client.send(inner, stream=True)
        except AttestgwError as err:
            return _refused(err)
        except httpx.HTTPError:
            return _error(
                502, "worker.unreachable", "the gateway could not be reached", "sealed_channel_error"
            )
        last_model[:] = [model]
        headers = {"content-type": response.headers.get("content-type", "application/json")}
        if "text/event-stream" not in headers["content-type"]:
            try:
                content = await response.aread()
            except AttestgwError as err:
                return _refused(err)
            finally:
                await response.aclose()
            receipt = response.extensions.get(RECEIPT_EXTENSION)
            return Response(
                content, status_code=response.status_code, headers={**headers, **_receipt_header(receipt)}
            )

        async def pieces() -> AsyncIterator[bytes]:
            try:
                async for piece in response.aiter_raw():
                    yield piece
            except AttestgwError:
                return  # truncated or tampered: end without the rest; the client sees no [DONE]
            finally:
                await response.aclose()

        return StreamingResponse(pieces(), status_code=response.status_code, headers=headers)

    async def models(request: Request) -> Response:
        names = settings.models or tuple(last_model)
        if not names:
            return JSONResponse({"object": "list", "data": []})
        data: list[dict[str, Any]] = []
        for name in names:
            try:
                _, client = transports.client(_token(settings, request), name)
                answer = await client.get(_INNER_BASE + "/v1/models")
            except AttestgwError as err:
                return _refused(err)
            except httpx.HTTPError:
                return _error(
                    502, "worker.unreachable", "the gateway could not be reached", "sealed_channel_error"
                )
            if answer.status_code == 200:
                listed = answer.json().get("data", [])
                data.extend(m for m in listed if isinstance(m, dict))
        return JSONResponse({"object": "list", "data": data})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route(path, relay, methods=["POST"]) for path in _MODEL_ROUTES]
    routes += [Route("/v1/models", models, methods=["GET"]), Route("/healthz", healthz, methods=["GET"])]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await transports.aclose()

    return Starlette(routes=routes, lifespan=lifespan)
