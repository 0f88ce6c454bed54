"""How the worker runs its inner app: lifespan (or none), failures at start, clients that go away."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.bhttp import decode_response
from attestgw.bhttp.stream import ResponseStreamDecoder, StreamBody
from attestgw.ohttp import MEDIA_TYPE_CHUNKED_REQUEST, KeyConfig, decode_key_configs
from attestgw.worker import ServedModel, WorkerServices, WorkerSettings, create_app
from tests.integration.worker.channel import chat, chunked_wire, inner_request, post_sealed
from tests.integration.worker.conftest import MODEL_DIGEST
from tests.integration.worker.server import UvicornThread
from tests.integration.worker.toy_inner import MODEL

SETTINGS = WorkerSettings(model=ServedModel(MODEL, MODEL_DIGEST))


def _configs(client: httpx.Client, url: str) -> KeyConfig:
    return decode_key_configs(client.get(url + "/ohttp-keys").content)[0]


def test_inner_app_without_lifespan_support(sim_backend: SimulatedSnpBackend) -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("this app only speaks HTTP")  # as many plain ASGI apps do
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"bare " + scope["path"].encode()})

    app = create_app(SETTINGS, WorkerServices(cpu_attester=sim_backend, inner_app=bare))
    with UvicornThread(app) as server, httpx.Client(timeout=30) as client:
        config = _configs(client, server.url)
        response, opener, _ = post_sealed(
            client, server.url, config, inner_request(path=b"/x", method=b"GET")
        )
        inner = decode_response(opener.open(response.content))
        assert (inner.status, inner.content) == (200, b"bare /x")


def test_inner_app_that_fails_to_start_stops_the_worker(sim_backend: SimulatedSnpBackend) -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("the model did not load")
        yield

    inner = Starlette(routes=[], lifespan=lifespan)
    app = create_app(SETTINGS, WorkerServices(cpu_attester=sim_backend, inner_app=inner))
    with pytest.raises(RuntimeError, match="exited during startup"), UvicornThread(app):
        pass


def test_client_going_away_mid_stream_stops_the_model(sim_backend: SimulatedSnpBackend) -> None:
    produced: list[int] = []
    stopped = threading.Event()

    async def endless(request: Request) -> Response:
        async def events() -> AsyncIterator[bytes]:
            try:
                n = 0
                while True:
                    produced.append(n)
                    yield f"data: {json.dumps({'n': n})}\n\n".encode()
                    n += 1
                    await asyncio.sleep(0.01)
            finally:
                stopped.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    inner = Starlette(routes=[Route("/v1/chat/completions", endless, methods=["POST"])])
    app = create_app(SETTINGS, WorkerServices(cpu_attester=sim_backend, inner_app=inner))
    with UvicornThread(app) as server, httpx.Client(timeout=30) as client:
        config = _configs(client, server.url)
        wire, opener = chunked_wire(config, inner_request(chat(MODEL, stream=True)))
        decoder = ResponseStreamDecoder()
        got: list[bytes] = []
        with client.stream(
            "POST",
            server.url + "/ohttp-chunked",
            content=wire,
            headers={"content-type": MEDIA_TYPE_CHUNKED_REQUEST},
        ) as response:
            for raw in response.iter_raw():
                for plain in opener.feed(raw):
                    got += [e.data for e in decoder.feed(plain) if isinstance(e, StreamBody)]
                if len(got) >= 3:
                    break  # the client hangs up
        assert stopped.wait(timeout=10), "the inner stream kept running after the client left"
        count = len(produced)
        time.sleep(0.2)
        assert len(produced) == count  # and nothing more is generated
