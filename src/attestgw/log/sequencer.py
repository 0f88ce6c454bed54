"""Group commit for the evidence log: one thread turns queued appends into batched transactions.

Callers :meth:`Sequencer.submit` an item and get a :class:`concurrent.futures.Future`. The thread
takes the first waiting item, keeps collecting for up to ``max_delay`` seconds or until
``max_entries`` items are queued, hands the batch to ``write`` (which must make it durable and
return one result per item, in order), then resolves every future of the batch. Under load, items
queued while a batch is being written form the next batch, so throughput grows with concurrency
while a lone caller waits at most ``max_delay`` plus one commit.

If ``write`` raises, every future of that batch gets the exception (an ``AttestgwError`` as is,
anything else as ``log.store_unavailable``): a caller is never told an append succeeded when it did
not. :meth:`close` stops taking items, finishes the queue, and joins the thread; items submitted
after that fail with ``log.store_closed``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from attestgw.errors import AttestgwError, ServiceUnavailableError

__all__ = ["Sequencer"]

T = TypeVar("T")
R = TypeVar("R")


class Sequencer(Generic[T, R]):
    """A daemon thread that batches submitted items into calls of ``write`` (module docstring)."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_entries: int = 1024,
        max_delay: float = 0.002,
        name: str = "attestgw-log-sequencer",
    ) -> None:
        if max_entries < 1 or max_delay < 0:
            raise ValueError("max_entries must be ≥ 1 and max_delay ≥ 0")
        self._write = write
        self._max_entries = max_entries
        self._max_delay = max_delay
        self._queue: deque[tuple[T, Future[R]]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        with self._cond:
            if self._closing:
                raise ServiceUnavailableError("log.store_closed", "the log is closed")
            self._queue.append((item, future))
            # Wake the thread only when it may be waiting for exactly this: work, or a full batch.
            if len(self._queue) == 1 or len(self._queue) >= self._max_entries:
                self._cond.notify()
        return future

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _take(self) -> list[tuple[T, Future[R]]] | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self._max_delay
            while len(self._queue) < self._max_entries and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            count = min(len(self._queue), self._max_entries)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                results = self._write([item for item, _ in batch])
            except AttestgwError as exc:
                for _, future in batch:
                    future.set_exception(exc)
                continue
            except Exception as exc:  # never leave a caller hanging, never claim durability
                err = ServiceUnavailableError("log.store_unavailable", f"append failed: {type(exc).__name__}")
                for _, future in batch:
                    future.set_exception(err)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
