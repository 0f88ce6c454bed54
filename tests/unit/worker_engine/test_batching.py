"""Concurrent requests share one padded batch and get exactly what they would get alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from attestgw.worker.engine import ChatMessage, Engine, GenerationResult

from .conftest import make_engine

PROMPTS = ["a", "The quick brown fox jumps", "Hello, world!", "1 2 3 4 5 6 7 8 9 10 11 12"]


async def _mixed(engine: Engine) -> list[GenerationResult]:
    """Greedy completions of different lengths, a chat, a seeded sample and a stream, all at once."""

    async def streamed() -> GenerationResult:
        stream = await engine.complete_stream("streamed prompt", max_tokens=17, temperature=0)
        text = "".join([delta async for delta in stream])
        assert stream.result is not None
        assert text == stream.result.text
        return stream.result

    calls = [engine.complete(p, max_tokens=8 + 7 * i, temperature=0) for i, p in enumerate(PROMPTS)]
    calls.append(engine.chat([ChatMessage("user", "hi")], max_tokens=12, temperature=0))
    calls.append(engine.complete("sampled", max_tokens=15, temperature=0.9, top_p=0.9, seed=42))
    calls.append(streamed())
    return list(await asyncio.gather(*calls))


def test_concurrent_requests_run_in_one_batch_with_sequential_results(engine: Engine, tiny_dir: Path) -> None:
    async def sequential() -> list[GenerationResult]:
        results = []
        for i, prompt in enumerate(PROMPTS):
            results.append(await engine.complete(prompt, max_tokens=8 + 7 * i, temperature=0))
        results.append(await engine.chat([ChatMessage("user", "hi")], max_tokens=12, temperature=0))
        results.append(await engine.complete("sampled", max_tokens=15, temperature=0.9, top_p=0.9, seed=42))
        results.append(await engine.complete("streamed prompt", max_tokens=17, temperature=0))
        return results

    alone = asyncio.run(sequential())
    size = len(alone)
    # The window is long and the batch size exact: the batch starts when all requests are in.
    with make_engine(tiny_dir, max_batch_size=size, batch_window_s=5) as batched:
        together = asyncio.run(_mixed(batched))
        stats = batched.stats()
    assert together == alone
    assert stats.generation_batches == 1
    assert stats.largest_batch == size
    assert stats.generation_requests == size


def test_a_batch_larger_than_the_limit_is_split(tiny_dir: Path) -> None:
    with make_engine(tiny_dir, max_batch_size=3, batch_window_s=0.5) as engine:

        async def main() -> list[GenerationResult]:
            calls = [engine.complete(p, max_tokens=5, temperature=0) for p in [*PROMPTS, "x", "y"]]
            return list(await asyncio.gather(*calls))

        results = asyncio.run(main())
        stats = engine.stats()
    assert len(results) == 6
    assert stats.largest_batch == 3
    assert stats.generation_batches == 2
