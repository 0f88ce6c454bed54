"""Request limits, the bounded queue, timeouts and shutdown, on the real engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from attestgw.errors import AttestgwError, ConfigError, UsageError
from attestgw.worker.engine import ChatMessage, Engine, EngineLimits

from .conftest import make_engine


def _code(call: object) -> str:
    async def main() -> str:
        try:
            await call
        except AttestgwError as exc:
            return exc.code
        raise AssertionError("no refusal")

    return asyncio.run(main())


def test_limits_refuse_before_queueing(tiny_dir: Path) -> None:
    with make_engine(tiny_dir, max_prompt_tokens=10, max_new_tokens=20, max_embedding_inputs=2) as engine:
        before = engine.stats()
        assert _code(engine.complete("x" * 11)) == "engine.prompt_too_long"
        assert _code(engine.complete("ok", max_tokens=21)) == "engine.max_tokens_too_large"
        assert _code(engine.complete("")) == "engine.request_invalid"
        assert _code(engine.complete("ok", stop=["a", "b", "c", "d", "e"])) == "engine.request_invalid"
        assert _code(engine.chat([])) == "engine.request_invalid"
        assert _code(engine.embed(["a", "b", "c"])) == "engine.request_invalid"
        assert _code(engine.embed(["x" * 11])) == "engine.prompt_too_long"
        assert engine.stats() == before  # nothing reached the model


def test_prompt_plus_max_tokens_must_fit_the_context(engine: Engine) -> None:
    assert engine.context_length == 2048
    assert _code(engine.complete("x" * 2000, max_tokens=49)) == "engine.prompt_too_long"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": [""]}, "stop"),
    ],
)
def test_sampling_parameters_out_of_range_are_refused(
    engine: Engine, kwargs: dict[str, object], fragment: str
) -> None:
    async def main() -> None:
        with pytest.raises(UsageError) as info:
            await engine.complete("hi", **kwargs)
        assert info.value.code == "engine.request_invalid"
        assert fragment in info.value.message

    asyncio.run(main())


def test_full_queue_refuses_with_queue_full(tiny_dir: Path) -> None:
    with make_engine(
        tiny_dir, queue_size=1, max_batch_size=1, batch_window_s=0, max_new_tokens=1500
    ) as engine:

        async def main() -> None:
            # A long generation holds the worker thread; its first delta proves it is running.
            running = await engine.complete_stream("a", max_tokens=1500, temperature=0)
            await running.__anext__()
            waiting = await engine.complete_stream("b", max_tokens=2, temperature=0)
            with pytest.raises(AttestgwError) as info:
                await engine.complete("c", max_tokens=2, temperature=0)
            assert info.value.code == "engine.queue_full"
            running.cancel()  # the worker drops it at its next step and takes the waiting one
            assert (await waiting.collect()).completion_tokens <= 2

        asyncio.run(main())


def test_a_request_running_past_its_timeout_fails_with_timeout(tiny_dir: Path) -> None:
    with make_engine(tiny_dir, request_timeout_s=0.3, max_new_tokens=2000) as engine:

        async def main() -> None:
            stream = await engine.complete_stream("a", max_tokens=2000, temperature=0)
            received: list[str] = []

            async def drain() -> None:
                async for delta in stream:
                    received.append(delta)

            with pytest.raises(AttestgwError) as info:
                await drain()
            assert info.value.code == "engine.timeout"
            assert received  # it timed out while generating, not in the queue
            assert stream.result is None

        asyncio.run(main())
        # The timed-out row was dropped: the engine answers the next request.
        assert asyncio.run(engine.complete("b", max_tokens=3, temperature=0)).completion_tokens <= 3


def test_a_closed_engine_refuses(tiny_dir: Path) -> None:
    engine = make_engine(tiny_dir)
    engine.close()
    assert _code(engine.chat([ChatMessage("user", "hi")])) == "engine.closed"


def test_invalid_limits_are_refused_at_construction() -> None:
    for bad in (
        {"queue_size": 0},
        {"max_batch_size": 0},
        {"default_max_tokens": 600},
        {"request_timeout_s": 0},
    ):
        with pytest.raises(ConfigError) as info:
            EngineLimits(**bad)
        assert info.value.code == "config.engine_invalid"


def test_a_request_without_max_tokens_gets_the_default(tiny_dir: Path) -> None:
    with make_engine(tiny_dir, max_new_tokens=6) as engine:
        assert engine.limits.default_tokens == 6
        result = asyncio.run(engine.complete("aaaa", temperature=0))
    assert result.completion_tokens <= 6
    assert result.finish_reason == "stop" or result.completion_tokens == 6
