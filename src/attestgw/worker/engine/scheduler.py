"""The engine's worker thread: a bounded queue, batch collection, and counters.

One thread owns the model. It blocks for the first queued job, then keeps collecting jobs for up to
``batch_window_s`` or until ``max_batch_size`` jobs are in hand, and runs them: generation jobs as
one batch, embedding jobs as another. One thread is deliberate: a model on one device runs one
forward pass at a time, and batching, not threads, is what shares it between requests.

The queue holds at most ``queue_size`` jobs that are waiting (the running batch is not counted);
:meth:`Scheduler.submit` refuses one more with ``engine.queue_full`` instead of letting latency
grow without bound. Jobs that were cancelled or passed their deadline while waiting are dropped
before they cost a forward pass.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from attestgw.errors import ServiceUnavailableError

from .generate import ModelRunner
from .jobs import EmbedJob, Failed, GenerateJob, Job
from .limits import EngineLimits

__all__ = ["EngineStats", "Scheduler"]

_STOP = object()


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters since start: batches started and the requests in them, the largest batch, and
    batches that raised."""

    generation_batches: int = 0
    generation_requests: int = 0
    embedding_batches: int = 0
    embedding_requests: int = 0
    largest_batch: int = 0
    failed_batches: int = 0


class Scheduler:
    """Owns the worker thread. ``submit`` is safe from any thread; ``close`` is idempotent."""

    def __init__(self, runner: ModelRunner, limits: EngineLimits) -> None:
        self._runner = runner
        self._limits = limits
        self._queue: queue.Queue[object] = queue.Queue(maxsize=limits.queue_size)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._stats = EngineStats()
        self._thread = threading.Thread(target=self._run, name="attestgw-engine", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue ``job``; refuse with ``engine.queue_full`` or ``engine.closed``."""
        if self._stopping.is_set():
            raise ServiceUnavailableError("engine.closed", "the inference engine is shut down")
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise ServiceUnavailableError(
                "engine.queue_full", f"{self._limits.queue_size} requests are already waiting"
            ) from None

    def stats(self) -> EngineStats:
        with self._lock:
            return self._stats

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread: running rows fail with ``engine.closed``, waiting jobs too."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # when full, the thread sees ``_stopping`` at its next poll
            self._queue.put_nowait(_STOP)
        self._thread.join(timeout)
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, GenerateJob | EmbedJob):
                item.sink.post(
                    Failed(ServiceUnavailableError("engine.closed", "the inference engine is shut down"))
                )

    def _collect(self) -> list[Job] | None:
        """Block for a first job, then gather a batch; None once the engine is stopping."""
        while True:
            if self._stopping.is_set():
                return None
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if first is _STOP:
                return None
            break
        batch: list[Job] = [first] if isinstance(first, GenerateJob | EmbedJob) else []
        window_end = time.monotonic() + self._limits.batch_window_s
        while len(batch) < self._limits.max_batch_size:
            remaining = window_end - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if item is _STOP:
                self._stopping.set()
                break
            if isinstance(item, GenerateJob | EmbedJob):
                batch.append(item)
        return batch

    def _run(self) -> None:
        while (batch := self._collect()) is not None:
            now = time.monotonic()
            live: list[Job] = []
            for job in batch:
                if job.cancelled.is_set():
                    continue
                if now > job.deadline:
                    job.sink.post(
                        Failed(
                            ServiceUnavailableError("engine.timeout", "the request timed out in the queue")
                        )
                    )
                    continue
                live.append(job)
            generate = [job for job in live if isinstance(job, GenerateJob)]
            embed = [job for job in live if isinstance(job, EmbedJob)]
            # Counted when a batch starts, so that a caller who has its answer sees its batch.
            if generate:
                self._count(generation=len(generate))
                self._guarded(generate, partial(self._runner.generate, generate, self._stopping))
            if embed:
                self._count(embedding=len(embed))
                self._guarded(embed, partial(self._runner.embed, embed, self._limits.max_batch_size))
        self._drain()

    def _guarded(self, jobs: Sequence[Job], work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # the thread must outlive one failed batch
            # Every job of the batch gets a generic failure (a job that finished already ignores a
            # second terminal event). Details stay out of the message: they may quote the input.
            error = ServiceUnavailableError(
                "engine.failed", f"the model failed on this batch ({type(exc).__name__})"
            )
            for job in jobs:
                job.sink.post(Failed(error))
            with self._lock:
                self._stats = replace(self._stats, failed_batches=self._stats.failed_batches + 1)

    def _count(self, generation: int = 0, embedding: int = 0) -> None:
        with self._lock:
            s = self._stats
            self._stats = EngineStats(
                generation_batches=s.generation_batches + (1 if generation else 0),
                generation_requests=s.generation_requests + generation,
                embedding_batches=s.embedding_batches + (1 if embedding else 0),
                embedding_requests=s.embedding_requests + embedding,
                largest_batch=max(s.largest_batch, generation, embedding),
                failed_batches=s.failed_batches,
            )
