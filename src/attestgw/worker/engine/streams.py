"""The caller's side of a queued job: waiting for events under the request's deadline.

:class:`GenerationStream` is what the engine's ``*_stream`` methods return: an async iterator of
text deltas. Iteration ends after the last delta; ``result`` then holds the whole answer (its text is
the concatenation of the deltas) with the finish reason and token counts. A failure raised by the
worker thread (``engine.timeout``, ``engine.closed``, ``engine.failed``) is raised from the
iteration. If the caller stops early — it calls :meth:`GenerationStream.cancel`, or its task is
cancelled, or the deadline passes — the job is cancelled so the worker stops generating for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from attestgw.errors import ServiceUnavailableError

from .jobs import Delta, Embedded, EmbedJob, Event, Failed, Finished, GenerateJob, GenerationResult, Sink

__all__ = ["EmbeddingResult", "GenerationStream", "await_embeddings"]


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Embedding vectors (one per input, unit L2 norm) and the number of input tokens."""

    vectors: list[list[float]]
    prompt_tokens: int


async def _next_event(sink: Sink, loop_deadline: float) -> Event:
    try:
        async with asyncio.timeout_at(loop_deadline):
            return await sink.queue.get()
    except TimeoutError:
        raise ServiceUnavailableError(
            "engine.timeout", "the request did not finish within its timeout"
        ) from None


class GenerationStream:
    """Text deltas of one queued generation (see the module docstring)."""

    __slots__ = ("_done", "_job", "_loop_deadline", "result")

    def __init__(self, job: GenerateJob, loop_deadline: float) -> None:
        self._job = job
        self._loop_deadline = loop_deadline
        self._done = False
        #: Set once the iteration has ended normally.
        self.result: GenerationResult | None = None

    @property
    def prompt_tokens(self) -> int:
        return len(self._job.prompt_ids)

    def cancel(self) -> None:
        """Stop generating for this request (idempotent; a finished stream is unaffected)."""
        self._done = True
        self._job.cancelled.set()

    def __aiter__(self) -> GenerationStream:
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        try:
            event = await _next_event(self._job.sink, self._loop_deadline)
        except BaseException:  # timeout, or the caller's task was cancelled
            self.cancel()
            raise
        if isinstance(event, Delta):
            return event.text
        self._done = True
        if isinstance(event, Finished):
            self.result = event.result
            raise StopAsyncIteration
        if isinstance(event, Failed):
            raise event.error
        raise ServiceUnavailableError("engine.failed", f"unexpected event {type(event).__name__}")

    async def collect(self) -> GenerationResult:
        """Consume the stream and return the result."""
        async for _ in self:
            pass
        assert self.result is not None  # the iteration ends only through Finished
        return self.result


async def await_embeddings(job: EmbedJob, loop_deadline: float) -> list[list[float]]:
    """Wait for the vectors of ``job``; cancel it on timeout or cancellation."""
    try:
        event = await _next_event(job.sink, loop_deadline)
    except BaseException:
        job.cancelled.set()
        raise
    if isinstance(event, Embedded):
        return event.vectors
    if isinstance(event, Failed):
        raise event.error
    raise ServiceUnavailableError("engine.failed", f"unexpected event {type(event).__name__}")
