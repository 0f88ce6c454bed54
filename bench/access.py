"""Benchmark: the gateway's per-request access-control cost, in one process.

    .venv/bin/python bench/access.py [--rounds N]

Measures, with the shipped policies (policies/access/) and a registry of 50 models:

- ``authorize()`` for a caller whose entity set is cached (the steady state: the same token calls
  again), and for a new caller every time (entity construction included);
- ``check_rate()`` for one caller (bucket lookup, refill, two token takes) with limits high enough
  never to refuse;
- one ``async with stream()`` enter + exit.

Prints medians in µs; asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from attestgw.access import Action, CedarAuthorizer, Limits, ModelAttributes, QuotaManager, QuotaSettings
from attestgw.identity import Principal

POLICIES = Path(__file__).resolve().parent.parent / "policies" / "access"


def _median_us(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds

    models = {f"model-{i}": ModelAttributes(tenants=frozenset({f"t{i % 5}"})) for i in range(50)}
    authorizer = CedarAuthorizer.from_dir(POLICIES, models)
    alice = Principal("alice", "https://issuer.example", tenant="t0", groups=("attestgw-users", "staff"))
    fresh = iter(range(10**9))

    def new_caller() -> object:
        who = Principal(
            f"user{next(fresh)}", "https://issuer.example", tenant="t0", groups=("attestgw-users",)
        )
        return authorizer.authorize(who, Action.INFER, "model-0")

    assert authorizer.authorize(alice, Action.INFER, "model-0").allowed
    cached = _median_us(lambda: authorizer.authorize(alice, Action.INFER, "model-0"), rounds)
    uncached = _median_us(new_caller, rounds)

    unlimited = Limits(rate=1e6, burst=10**6, streams=10**6)
    quotas = QuotaManager(QuotaSettings(principal=unlimited, tenant=unlimited))
    rate = _median_us(lambda: quotas.check_rate(alice), rounds)

    async def one_stream() -> None:
        async with quotas.stream(alice):
            pass

    async def streams() -> float:
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            await one_stream()
            samples.append((time.perf_counter_ns() - t0) / 1000)
        return statistics.median(samples)

    stream = asyncio.run(streams())
    print(f"authorize(), cached caller      {cached:8.1f} µs median ({rounds} rounds)")
    print(f"authorize(), new caller         {uncached:8.1f} µs median")
    print(f"check_rate()                    {rate:8.1f} µs median")
    print(f"stream() enter + exit           {stream:8.1f} µs median")


if __name__ == "__main__":
    main()
