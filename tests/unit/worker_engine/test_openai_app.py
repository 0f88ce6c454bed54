"""The inner OpenAI-compatible app, through httpx's ASGI transport (no sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from attestgw.worker.engine import ApiSettings, ChatMessage, Engine, create_openai_app

from .conftest import make_engine

CHAT = {
    "model": "tiny",
    "messages": [{"role": "user", "content": "Hello there"}],
    "max_tokens": 30,
    "temperature": 0,
}


@pytest.fixture(scope="module")
def app(engine: Engine) -> Starlette:
    return create_openai_app(engine, ApiSettings(max_body_bytes=4096, clock=lambda: 1_700_000_000.0))


def request(app: Starlette, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(main())


def sse_events(response: httpx.Response) -> Iterator[str]:
    """The data of each server-sent event; every event is exactly one ``data:`` line."""
    assert response.headers["content-type"].startswith("text/event-stream")
    text = response.text
    assert text.endswith("\n\n")
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ")
        assert "\n" not in block
        yield block[len("data: ") :]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


def test_models_lists_the_served_model(app: Starlette) -> None:
    listing = request(app, "GET", "/v1/models").json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == ["tiny"]
    assert request(app, "GET", "/v1/models/tiny").json()["id"] == "tiny"
    assert_error(request(app, "GET", "/v1/models/gpt-4"), 404, "engine.model_not_found")


def test_chat_completion_matches_the_engine(app: Starlette, engine: Engine) -> None:
    response = request(app, "POST", "/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    body = response.json()
    expected = asyncio.run(engine.chat([ChatMessage("user", "Hello there")], max_tokens=30, temperature=0))
    assert body["object"] == "chat.completion"
    assert body["model"] == "tiny"
    assert body["created"] == 1_700_000_000
    assert body["choices"][0]["message"] == {"role": "assistant", "content": expected.text}
    assert body["choices"][0]["finish_reason"] == expected.finish_reason
    assert body["usage"] == {
        "prompt_tokens": expected.prompt_tokens,
        "completion_tokens": expected.completion_tokens,
        "total_tokens": expected.prompt_tokens + expected.completion_tokens,
    }


def test_streamed_chat_is_sse_and_concatenates_to_the_answer(app: Starlette) -> None:
    whole = request(app, "POST", "/v1/chat/completions", json=CHAT).json()
    response = request(app, "POST", "/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.status_code == 200
    events = list(sse_events(response))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content == whole["choices"][0]["message"]["content"]
    assert len(chunks) > 3  # one chunk per delta, not one blob
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert chunks[-1]["usage"] == whole["usage"]


def test_include_usage_sends_a_final_usage_chunk(app: Starlette) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    events = list(sse_events(request(app, "POST", "/v1/chat/completions", json=body)))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert all("usage" not in c for c in chunks[:-1])


def test_completions_single_list_and_stream(app: Starlette, engine: Engine) -> None:
    body = {"model": "tiny", "prompt": "Once upon", "max_tokens": 12, "temperature": 0}
    single = request(app, "POST", "/v1/completions", json=body).json()
    assert single["object"] == "text_completion"
    text = single["choices"][0]["text"]
    assert text == asyncio.run(engine.complete("Once upon", max_tokens=12, temperature=0)).text
    several = request(app, "POST", "/v1/completions", json={**body, "prompt": ["Once upon", "A time"]}).json()
    assert [c["index"] for c in several["choices"]] == [0, 1]
    assert several["choices"][0]["text"] == text
    assert several["usage"]["prompt_tokens"] == len("Once upon") + len("A time")
    streamed = list(sse_events(request(app, "POST", "/v1/completions", json={**body, "stream": True})))
    assert streamed[-1] == "[DONE]"
    assert "".join(json.loads(e)["choices"][0]["text"] for e in streamed[:-1]) == text


def test_embeddings_float_and_base64_agree(app: Starlette) -> None:
    body = {"model": "tiny", "input": ["hello", "world"]}
    floats = request(app, "POST", "/v1/embeddings", json=body).json()
    assert [d["index"] for d in floats["data"]] == [0, 1]
    assert floats["usage"] == {"prompt_tokens": 10, "total_tokens": 10}
    packed = request(app, "POST", "/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(floats["data"][0]["embedding"], abs=1e-6)


def test_a_stream_is_sent_one_event_per_asgi_message(app: Starlette) -> None:
    """The sealing layer seals each ASGI body message as it comes: nothing may buffer the stream."""
    messages: list[dict[str, Any]] = []
    body = json.dumps({**CHAT, "stream": True}).encode()

    async def main() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "https",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
            "server": ("worker", 443),
            "client": ("127.0.0.1", 1),
        }
        await app(scope, receive, send)

    asyncio.run(main())
    assert messages[0]["type"] == "http.response.start"
    bodies = [m for m in messages[1:] if m.get("body")]
    assert len(bodies) > 3
    for message in bodies:
        chunk = message["body"]
        assert chunk.startswith(b"data: ")
        assert chunk.endswith(b"\n\n")
        assert chunk.count(b"\n\n") == 1
    assert bodies[-1]["body"] == b"data: [DONE]\n\n"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**CHAT, "tools": []}, "tools"),
        ({**CHAT, "n": 2}, "'n'"),
        ({**CHAT, "temperature": "hot"}, "temperature"),
        ({**CHAT, "temperature": 3}, "temperature"),
        ({**CHAT, "max_tokens": True}, "max_tokens"),
        ({**CHAT, "messages": []}, "messages"),
        ({**CHAT, "messages": [{"role": "tool", "content": "x"}]}, "role"),
        ({**CHAT, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "text parts"),
        ({**CHAT, "stop": ["a", 1]}, "stop"),
        ({**CHAT, "stream_options": {"include_usage": True}}, "stream_options"),
        ({k: v for k, v in CHAT.items() if k != "model"}, "model"),
        ({**CHAT, "presence_penalty": 0.5}, "presence_penalty"),
    ],
)
def test_invalid_chat_bodies_are_refused_with_400(
    app: Starlette, body: dict[str, Any], fragment: str
) -> None:
    error = assert_error(
        request(app, "POST", "/v1/chat/completions", json=body), 400, "engine.request_invalid"
    )
    assert fragment in error["message"]
    assert error["type"] == "invalid_request_error"


def test_neutral_values_of_unsupported_fields_are_accepted(app: Starlette) -> None:
    body = {**CHAT, "n": 1, "presence_penalty": 0.0, "frequency_penalty": 0, "logprobs": False, "user": "u1"}
    assert request(app, "POST", "/v1/chat/completions", json=body).status_code == 200


def test_body_and_routing_errors_are_openai_shaped(app: Starlette) -> None:
    post = "/v1/chat/completions"
    assert_error(request(app, "POST", post, json={**CHAT, "model": "gpt-4"}), 404, "engine.model_not_found")
    assert_error(request(app, "POST", post, content=b"{not json"), 400, "engine.request_invalid")
    assert_error(request(app, "POST", post, content=b"[1, 2]"), 400, "engine.request_invalid")
    assert_error(
        request(app, "POST", post, content=b"{}", headers={"content-type": "text/plain"}),
        400,
        "engine.request_invalid",
    )
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(request(app, "POST", post, json=big), 413, "engine.body_too_large")
    assert_error(
        request(app, "POST", post, json={**CHAT, "max_tokens": 10_000}), 400, "engine.max_tokens_too_large"
    )
    assert_error(request(app, "GET", post), 405, "engine.request_invalid")
    assert_error(request(app, "GET", "/v1/nothing"), 404, "engine.request_invalid")


def test_body_size_is_enforced_without_content_length(app: Starlette) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    response = request(app, "POST", "/v1/embeddings", content=chunks())
    assert_error(response, 413, "engine.body_too_large")


def test_full_queue_is_429_and_timeout_is_504(tiny_dir: Path) -> None:
    with make_engine(tiny_dir, queue_size=1, max_batch_size=1, batch_window_s=0, max_new_tokens=1500) as busy:
        app = create_openai_app(busy)

        async def main() -> tuple[httpx.Response, httpx.Response]:
            running = await busy.complete_stream("a", max_tokens=1500, temperature=0)
            await running.__anext__()  # the worker thread is generating it
            waiting = await busy.complete_stream("b", max_tokens=2, temperature=0)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
                refused = await client.post("/v1/chat/completions", json=CHAT)
                running.cancel()
                await waiting.collect()
                accepted = await client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 3})
            return refused, accepted

        refused, accepted = asyncio.run(main())
    error = assert_error(refused, 429, "engine.queue_full")
    assert error["type"] == "rate_limit_error"
    assert refused.headers["retry-after"] == "1"
    assert accepted.status_code == 200

    with make_engine(tiny_dir, request_timeout_s=0.2, max_new_tokens=2000) as slow:
        app = create_openai_app(slow)
        long_chat = {**CHAT, "max_tokens": 2000}
        assert_error(request(app, "POST", "/v1/chat/completions", json=long_chat), 504, "engine.timeout")
        # Mid-stream, the status is already 200: the error comes in-band and [DONE] never does.
        streamed = request(app, "POST", "/v1/chat/completions", json={**long_chat, "stream": True})
        assert streamed.status_code == 200
        events = list(sse_events(streamed))
        assert "[DONE]" not in events
        assert json.loads(events[-1])["error"]["code"] == "engine.timeout"
