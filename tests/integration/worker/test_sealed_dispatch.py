"""How a sealed POST reaches its handler: directly (before Starlette's middleware and router) for the
exact sealed paths, through Starlette for everything else — with the same answers either way.

The app is driven in-process over raw ASGI, so a test can set a root path, disconnect mid-request,
or make Starlette's own entry point unusable to prove the direct way does not touch it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette

from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.bhttp import decode_response
from attestgw.ohttp import MEDIA_TYPE_REQUEST, MEDIA_TYPE_RESPONSE, ClientRequest, decode_key_configs
from attestgw.worker import ServedModel, WorkerServices, WorkerSettings, create_app
from tests.integration.worker.channel import chat, inner_request
from tests.integration.worker.toy_inner import MODEL, ToyInner

Message = MutableMapping[str, Any]


@pytest.fixture
def app(sim_backend: SimulatedSnpBackend) -> Starlette:
    settings = WorkerSettings(model=ServedModel(MODEL, hashlib.sha256(b"toy").hexdigest()))
    return create_app(settings, WorkerServices(cpu_attester=sim_backend, inner_app=ToyInner().app))


def _scope(method: str, path: str, body: bytes, *, root_path: str = "", content_type: str = "") -> Message:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _call(app: Starlette, scope: Message, messages: list[Message]) -> list[Message]:
    """Run one request through the app inside its lifespan; everything it sent."""
    incoming = iter(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        try:
            return next(incoming)
        except StopIteration:
            await asyncio.sleep(3600)  # a client that keeps the connection open and says nothing
            raise AssertionError("unreachable") from None

    async def send(message: Message) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return sent


def _sealed_exchange(
    app: Starlette, path: str, *, root_path: str = ""
) -> tuple[int, dict[bytes, bytes], bytes]:
    config = decode_key_configs(app.state.identity.ohttp_keys)[0]
    body, opener = ClientRequest(config).seal(inner_request(chat(MODEL)))
    scope = _scope("POST", path, body, root_path=root_path, content_type=MEDIA_TYPE_REQUEST)
    sent = asyncio.run(_call(app, scope, [{"type": "http.request", "body": body, "more_body": False}]))
    start, *bodies = sent
    headers = dict(start["headers"])
    content = b"".join(m.get("body", b"") for m in bodies)
    if start["status"] == 200:
        content = decode_response(opener.open(content)).content
    return start["status"], headers, content


@pytest.mark.parametrize("path", ["/ohttp", f"/v1/models/{MODEL}/ohttp"])
def test_sealed_posts_are_answered_without_starlettes_entry_point(
    app: Starlette, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Starlette.__call__

    async def unusable(self: Starlette, scope: Message, receive: Any, send: Any) -> None:
        if self is app:  # the inner app is a Starlette app too, and must keep working
            raise AssertionError("a sealed POST went through Starlette's middleware and router")
        await original(self, scope, receive, send)

    monkeypatch.setattr(Starlette, "__call__", unusable)
    status, headers, content = _sealed_exchange(app, path)
    assert status == 200
    assert headers[b"content-type"] == MEDIA_TYPE_RESPONSE.encode()
    assert b"chat.completion" in content


@pytest.mark.parametrize("path", ["/ohttp", f"/v1/models/{MODEL}/ohttp"])
def test_under_a_root_path_the_router_reaches_the_same_handler(app: Starlette, path: str) -> None:
    status, headers, content = _sealed_exchange(app, path, root_path="/worker")
    assert status == 200
    assert headers[b"content-type"] == MEDIA_TYPE_RESPONSE.encode()
    assert b"chat.completion" in content


@pytest.mark.parametrize("root_path", ["", "/worker"])
def test_a_model_mismatch_is_refused_either_way(app: Starlette, root_path: str) -> None:
    status, headers, content = _sealed_exchange(app, "/v1/models/other/ohttp", root_path=root_path)
    assert status == 404
    assert headers[b"content-type"] == b"application/problem+json"
    assert b'"code":"worker.model_mismatch"' in content


def test_other_methods_on_sealed_paths_get_405_with_allow(app: Starlette) -> None:
    for path in ("/ohttp", "/ohttp-chunked", f"/v1/models/{MODEL}/ohttp"):
        sent = asyncio.run(_call(app, _scope("GET", path, b""), [{"type": "http.request", "body": b""}]))
        assert sent[0]["status"] == 405, path
        assert dict(sent[0]["headers"])[b"allow"] == b"POST"


def test_paths_near_the_sealed_ones_are_not_sealed_routes(app: Starlette) -> None:
    for path in ("/ohttpx", "/v1/models//ohttp", f"/v1/models/{MODEL}/x/ohttp", f"/v1/models/{MODEL}/ohttp/"):
        scope = _scope("POST", path, b"\x01", content_type=MEDIA_TYPE_REQUEST)
        sent = asyncio.run(_call(app, scope, [{"type": "http.request", "body": b"\x01"}]))
        assert sent[0]["status"] in (404, 307), path  # Starlette's answer: no route (or its slash redirect)


@pytest.mark.parametrize("path", ["/ohttp", "/ohttp-chunked"])
def test_a_client_gone_before_its_body_arrived_gets_no_answer(app: Starlette, path: str) -> None:
    media = MEDIA_TYPE_REQUEST if path == "/ohttp" else "message/ohttp-chunked-req"
    scope = _scope("POST", path, b"\x01" * 100, content_type=media)
    first = {"type": "http.request", "body": b"", "more_body": True}
    sent = asyncio.run(_call(app, scope, [first, {"type": "http.disconnect"}]))
    assert sent == []
