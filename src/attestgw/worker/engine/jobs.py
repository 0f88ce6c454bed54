"""Requests as the worker thread sees them, and how results travel back to the event loop.

A job is created on the event loop, queued, picked up by the engine's worker thread, and answered
through its :class:`Sink`, which hands each event to the job's own event loop with
``call_soon_threadsafe``. A job is cancelled by setting ``cancelled``: the worker thread drops it at
the next step (a timed-out or disconnected request stops costing compute). Events: text deltas,
then exactly one of a finished result, embeddings, or a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Literal

from attestgw.errors import AttestgwError

from .sampling import SamplingParams

__all__ = [
    "Delta",
    "EmbedJob",
    "Embedded",
    "Event",
    "Failed",
    "Finished",
    "GenerateJob",
    "GenerationResult",
    "Job",
    "Sink",
]

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """A finished generation: the text and why it ended (``stop``: EOS or a stop string;
    ``length``: ``max_tokens`` reached), with OpenAI-style token counts."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    result: GenerationResult


@dataclass(frozen=True, slots=True)
class Embedded:
    vectors: list[list[float]]


@dataclass(frozen=True, slots=True)
class Failed:
    error: AttestgwError


Event = Delta | Finished | Embedded | Failed


class Sink:
    """Delivers events from the worker thread to the event loop that submitted the job."""

    __slots__ = ("_loop", "queue")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def post(self, event: Event) -> None:
        # A closed loop means nobody waits any more; the event has nowhere to go.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.queue.put_nowait, event)


@dataclass(frozen=True, slots=True, eq=False)
class GenerateJob:
    """One prompt to continue. ``max_tokens`` is resolved (never ``None``); ``deadline`` is
    :func:`time.monotonic` seconds."""

    prompt_ids: tuple[int, ...]
    params: SamplingParams
    max_tokens: int
    deadline: float
    sink: Sink
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, slots=True, eq=False)
class EmbedJob:
    """Texts (already tokenized) to embed, answered with one :class:`Embedded` event."""

    inputs: tuple[tuple[int, ...], ...]
    deadline: float
    sink: Sink
    cancelled: threading.Event = field(default_factory=threading.Event)


Job = GenerateJob | EmbedJob
