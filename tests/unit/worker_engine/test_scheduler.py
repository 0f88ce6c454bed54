"""The worker thread's queue and batching, driven by a fake model runner that the test controls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from attestgw.errors import AttestgwError
from attestgw.worker.engine import EngineLimits
from attestgw.worker.engine.jobs import (
    Embedded,
    EmbedJob,
    Failed,
    Finished,
    GenerateJob,
    GenerationResult,
    Sink,
)
from attestgw.worker.engine.sampling import SamplingParams
from attestgw.worker.engine.scheduler import Scheduler


class FakeRunner:
    """Records the batches it is given; blocks while ``gate`` is closed; can be told to fail."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.batches: list[int] = []
        self.fail = False

    def generate(self, jobs: Sequence[GenerateJob], stopping: threading.Event) -> None:
        self.batches.append(len(jobs))
        self.started.set()
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("boom: the prompt was 'secret'")
        for job in jobs:
            result = GenerationResult("ok", "stop", len(job.prompt_ids), 1)
            job.sink.post(Finished(result))

    def embed(self, jobs: Sequence[EmbedJob], chunk: int) -> None:
        for job in jobs:
            job.sink.post(Embedded([[1.0]] * len(job.inputs)))


def _job(loop: asyncio.AbstractEventLoop, timeout: float = 30.0) -> GenerateJob:
    return GenerateJob((1, 2, 3), SamplingParams(temperature=0), 4, time.monotonic() + timeout, Sink(loop))


async def _outcome(job: GenerateJob | EmbedJob) -> object:
    return await asyncio.wait_for(job.sink.queue.get(), 10)


def test_jobs_arriving_together_run_as_one_batch() -> None:
    runner = FakeRunner()
    scheduler = Scheduler(runner, EngineLimits(max_batch_size=3, batch_window_s=0.3))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        jobs = [_job(loop) for _ in range(5)]
        for job in jobs:
            scheduler.submit(job)
        outcomes = [await _outcome(job) for job in jobs]
        assert all(isinstance(o, Finished) for o in outcomes)

    try:
        asyncio.run(main())
    finally:
        scheduler.close()
    # A full batch does not wait for the window; the rest wait for it, then run together.
    assert runner.batches == [3, 2]
    stats = scheduler.stats()
    assert (stats.generation_batches, stats.generation_requests, stats.largest_batch) == (2, 5, 3)


def test_a_full_queue_refuses_with_queue_full() -> None:
    runner = FakeRunner()
    runner.gate.clear()
    scheduler = Scheduler(runner, EngineLimits(queue_size=2, max_batch_size=1, batch_window_s=0))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        running = _job(loop)
        scheduler.submit(running)
        assert runner.started.wait(5)  # the thread holds it: the queue is empty again
        waiting = [_job(loop), _job(loop)]
        for job in waiting:
            scheduler.submit(job)
        with pytest.raises(AttestgwError) as info:
            scheduler.submit(_job(loop))
        assert info.value.code == "engine.queue_full"
        runner.gate.set()
        for job in [running, *waiting]:
            assert isinstance(await _outcome(job), Finished)
        scheduler.submit(_job(loop))  # room again

    try:
        asyncio.run(main())
    finally:
        scheduler.close()


def test_a_job_that_waited_past_its_deadline_fails_with_timeout_without_running() -> None:
    runner = FakeRunner()
    runner.gate.clear()
    scheduler = Scheduler(runner, EngineLimits(max_batch_size=1, batch_window_s=0))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        scheduler.submit(_job(loop))
        assert runner.started.wait(5)
        late = _job(loop, timeout=0.0)
        scheduler.submit(late)
        runner.gate.set()
        outcome = await _outcome(late)
        assert isinstance(outcome, Failed)
        assert outcome.error.code == "engine.timeout"

    try:
        asyncio.run(main())
    finally:
        scheduler.close()
    assert runner.batches == [1]


def test_a_failing_batch_fails_its_jobs_and_the_thread_survives() -> None:
    runner = FakeRunner()
    runner.fail = True
    scheduler = Scheduler(runner, EngineLimits(batch_window_s=0))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        doomed = _job(loop)
        scheduler.submit(doomed)
        outcome = await _outcome(doomed)
        assert isinstance(outcome, Failed)
        assert outcome.error.code == "engine.failed"
        assert "secret" not in str(outcome.error)  # exception text may quote the prompt
        runner.fail = False
        fine = _job(loop)
        scheduler.submit(fine)
        assert isinstance(await _outcome(fine), Finished)

    try:
        asyncio.run(main())
    finally:
        scheduler.close()
    assert scheduler.stats().failed_batches == 1


def test_closing_fails_waiting_jobs_and_refuses_new_ones() -> None:
    runner = FakeRunner()
    runner.gate.clear()
    scheduler = Scheduler(runner, EngineLimits(max_batch_size=1, batch_window_s=0))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        scheduler.submit(_job(loop))
        assert runner.started.wait(5)
        waiting = _job(loop)
        scheduler.submit(waiting)
        closer = threading.Thread(target=scheduler.close)
        closer.start()
        runner.gate.set()
        outcome = await _outcome(waiting)
        closer.join(10)
        assert isinstance(outcome, Failed)
        assert outcome.error.code == "engine.closed"
        with pytest.raises(AttestgwError) as info:
            scheduler.submit(_job(loop))
        assert info.value.code == "engine.closed"

    asyncio.run(main())
