"""The official ``openai`` client, unmodified, against the inner app through an ASGI transport."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import openai
import pytest
from starlette.applications import Starlette

from attestgw.worker.engine import ChatMessage, Engine, create_openai_app

T = TypeVar("T")


def with_client(app: Starlette, work: Callable[[openai.AsyncOpenAI], Awaitable[T]]) -> T:
    async def main() -> T:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        client = openai.AsyncOpenAI(
            base_url="http://worker/v1", api_key="unused-inside-the-seal", http_client=http, max_retries=0
        )
        async with client:
            return await work(client)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def app(engine: Engine) -> Starlette:
    return create_openai_app(engine)


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]


def test_chat_completion_with_and_without_stream(app: Starlette, engine: Engine) -> None:
    async def work(client: openai.AsyncOpenAI) -> tuple[str, str, int]:
        whole = await client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=25, temperature=0
        )
        stream = await client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=25, temperature=0, stream=True
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert whole.usage is not None
        return whole.choices[0].message.content or "", "".join(parts), whole.usage.completion_tokens

    whole, streamed, completion_tokens = with_client(app, work)
    expected = asyncio.run(
        engine.chat(
            [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi!")], max_tokens=25, temperature=0
        )
    )
    assert whole == streamed == expected.text
    assert completion_tokens == expected.completion_tokens


def test_stream_with_include_usage(app: Starlette) -> None:
    async def work(client: openai.AsyncOpenAI) -> int:
        stream = await client.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            max_tokens=10,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        usage = [chunk.usage async for chunk in stream if chunk.usage is not None]
        assert len(usage) == 1
        return usage[0].total_tokens

    assert with_client(app, work) > 10


def test_completions_embeddings_and_models(app: Starlette) -> None:
    async def work(client: openai.AsyncOpenAI) -> None:
        completion = await client.completions.create(model="tiny", prompt="Once", max_tokens=5, temperature=0)
        assert completion.choices[0].finish_reason in ("stop", "length")
        # The client asks for base64 embeddings by default and decodes them itself.
        embedding = await client.embeddings.create(model="tiny", input=["hello", "there"])
        assert len(embedding.data) == 2
        vector = embedding.data[0].embedding
        assert len(vector) == 64
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
        models = await client.models.list()
        assert [m.id for m in models.data] == ["tiny"]

    with_client(app, work)


def test_refusals_map_to_the_clients_error_classes(app: Starlette) -> None:
    async def work(client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="gpt-4", messages=MESSAGES)
        assert missing.value.code == "engine.model_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            await client.chat.completions.create(model="tiny", messages=MESSAGES, n=3)
        assert bad.value.code == "engine.request_invalid"

    with_client(app, work)
