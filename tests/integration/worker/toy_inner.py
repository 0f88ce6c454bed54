"""A small inner OpenAI-style ASGI app for the worker tests (the real one is attestgw.worker.engine).

It answers like an OpenAI server would for the routes the worker treats specially, streams SSE events
one body message per event, records what reached it (so a test can assert that a refused request
never did), and has routes that fail in the ways the worker must handle. Its lifespan sets state
that requests read back, to show the worker runs the inner lifespan.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "toy-model"
GATE_TIMEOUT_S = 10.0


class ToyInner:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.gate = threading.Event()  # the streamed route waits for it after its first event
        self.lifespan_events: list[str] = []
        self.app = self._build()

    def _build(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
            self.lifespan_events.append("startup")
            yield {"greeting": "hello from the inner lifespan"}
            self.lifespan_events.append("shutdown")

        async def chat(request: Request) -> Response:
            body = await request.json()
            self.seen.append((request.method, request.url.path))
            if body.get("stream"):
                return StreamingResponse(self._events(body), media_type="text/event-stream")
            answer = {
                "id": "chatcmpl-toy",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}}],
                "echo": body.get("messages"),
                "host": request.headers.get("host"),
            }
            return JSONResponse(answer)

        async def completions(request: Request) -> Response:
            self.seen.append((request.method, request.url.path))

            async def broken() -> AsyncIterator[bytes]:
                yield b'data: {"choices":[{"text":"half"}]}\n\n'
                raise RuntimeError("the model crashed mid-stream")

            return StreamingResponse(broken(), media_type="text/event-stream")

        async def models(request: Request) -> Response:
            self.seen.append((request.method, request.url.path))
            return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

        async def state(request: Request) -> Response:
            return JSONResponse({"greeting": request.state.greeting, "query": request.url.query})

        async def boom(request: Request) -> Response:
            self.seen.append((request.method, request.url.path))
            raise RuntimeError("the inner app crashed")

        return Starlette(
            routes=[
                Route("/v1/chat/completions", chat, methods=["POST"]),
                Route("/v1/completions", completions, methods=["POST"]),
                Route("/v1/models", models, methods=["GET"]),
                Route("/state", state, methods=["GET"]),
                Route("/boom", boom, methods=["GET", "POST"]),
            ],
            lifespan=lifespan,
        )

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        words = ["one", "two", "three"]
        for index, word in enumerate(words):
            chunk = {
                "object": "chat.completion.chunk",
                "model": body["model"],
                "choices": [{"delta": {"content": word}}],
            }
            yield f"data: {json.dumps(chunk)}\n\n".encode()
            if index == 0:
                # Wait until the test saw the first event: a worker that buffered would never let it.
                deadline = time.monotonic() + GATE_TIMEOUT_S
                while not self.gate.is_set():
                    if time.monotonic() > deadline:
                        yield b"data: gate-timeout\n\n"
                        break
                    await asyncio.sleep(0.005)
        yield b"data: [DONE]\n\n"
