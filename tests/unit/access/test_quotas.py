"""Quotas with a fake clock: refill, burst, tenants shared, stream slots released on every exit."""

from __future__ import annotations

import asyncio
import threading

import pytest

from attestgw.access import Limits, QuotaManager, QuotaSettings
from attestgw.errors import RateLimitedError
from tests.unit.access.conftest import caller


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: object) -> QuotaSettings:
    values: dict[str, object] = {
        "principal": Limits(rate=2.0, burst=3, streams=2),
        "tenant": Limits(rate=100.0, burst=100, streams=100),
    }
    values.update(overrides)
    return QuotaSettings(**values)  # type: ignore[arg-type]


def allowed(quotas: QuotaManager, who: object, n: int) -> int:
    """How many of ``n`` immediate requests pass."""
    passed = 0
    for _ in range(n):
        try:
            quotas.check_rate(who)  # type: ignore[arg-type]
        except RateLimitedError:
            continue
        passed += 1
    return passed


def test_burst_then_refusal_with_retry_after() -> None:
    clock = FakeClock()
    quotas = QuotaManager(settings(), clock=clock)
    alice = caller()
    assert allowed(quotas, alice, 3) == 3
    with pytest.raises(RateLimitedError) as info:
        quotas.check_rate(alice)
    assert info.value.code == "quota.rate_exceeded"
    assert info.value.retry_after == 1  # 0.5 s to the next token at 2/s, rounded up to whole seconds


def test_refill_math() -> None:
    clock = FakeClock()
    quotas = QuotaManager(settings(principal=Limits(rate=0.25, burst=2, streams=1)), clock=clock)
    alice = caller()
    assert allowed(quotas, alice, 2) == 2
    with pytest.raises(RateLimitedError) as info:
        quotas.check_rate(alice)
    assert info.value.retry_after == 4  # one token every 4 s
    clock.advance(3.9)
    with pytest.raises(RateLimitedError) as info:
        quotas.check_rate(alice)
    assert info.value.retry_after == 1  # 0.1 s left, never 0
    clock.advance(0.1)
    quotas.check_rate(alice)
    clock.advance(3600)  # refill stops at the burst size
    assert allowed(quotas, alice, 5) == 2


def test_refused_request_consumes_nothing() -> None:
    clock = FakeClock()
    quotas = QuotaManager(
        settings(
            principal=Limits(rate=0.001, burst=1, streams=1), tenant=Limits(rate=1.0, burst=1, streams=1)
        ),
        clock=clock,
    )
    alice, bob = caller("alice"), caller("bob")
    quotas.check_rate(alice)  # empties the shared tenant bucket
    assert allowed(quotas, bob, 1) == 0  # tenant refuses bob ...
    clock.advance(1.0)
    quotas.check_rate(bob)  # ... and bob's own token was not taken by the refusal


def test_tenant_limit_is_shared_across_principals() -> None:
    clock = FakeClock()
    quotas = QuotaManager(settings(tenant=Limits(rate=1.0, burst=4, streams=10)), clock=clock)
    acme = [caller(f"user{i}", tenant="acme") for i in range(4)]
    assert sum(allowed(quotas, who, 3) for who in acme) == 4  # each could do 3, the tenant allows 4
    with pytest.raises(RateLimitedError, match="tenant"):
        quotas.check_rate(caller("user9", tenant="acme"))
    assert allowed(quotas, caller("zoe", tenant="globex"), 3) == 3  # another tenant is unaffected


def test_caller_without_tenant_is_its_own_tenant() -> None:
    quotas = QuotaManager(settings(tenant=Limits(rate=1.0, burst=1, streams=10)), clock=FakeClock())
    assert allowed(quotas, caller("a", tenant=None), 2) == 1
    assert allowed(quotas, caller("b", tenant=None), 2) == 1


def test_role_and_tenant_overrides() -> None:
    quotas = QuotaManager(
        settings(
            roles={
                "batch": Limits(rate=1.0, burst=10, streams=2),
                "slow": Limits(rate=1.0, burst=1, streams=1),
            },
            tenants={"tiny": Limits(rate=1.0, burst=1, streams=1)},
        ),
        clock=FakeClock(),
    )
    assert allowed(quotas, caller("a", roles=("batch",)), 20) == 10
    assert allowed(quotas, caller("b", roles=("slow", "batch")), 20) == 10  # most generous wins
    assert allowed(quotas, caller("c", tenant="tiny"), 5) == 1


def test_memory_is_capped_and_least_recent_evicted() -> None:
    quotas = QuotaManager(settings(max_tracked_keys=10), clock=FakeClock())
    for i in range(500):
        quotas.check_rate(caller(f"user{i}", tenant=f"t{i}"))
    assert quotas.tracked_keys <= 10


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_stream_slots_limit_and_release() -> None:
    quotas = QuotaManager(settings(), clock=FakeClock())
    alice = caller()

    async def scenario() -> None:
        async with quotas.stream(alice), quotas.stream(alice):
            with pytest.raises(RateLimitedError) as info:
                async with quotas.stream(alice):
                    pass
            assert info.value.code == "quota.concurrency_exceeded"
            assert info.value.retry_after == 1
        async with quotas.stream(alice), quotas.stream(alice):
            pass

    _run(scenario())
    assert quotas.open_streams == 0


def test_stream_slot_released_on_exception() -> None:
    quotas = QuotaManager(settings(principal=Limits(rate=1.0, burst=1, streams=1)), clock=FakeClock())
    alice = caller()

    async def scenario() -> None:
        with pytest.raises(ValueError, match="upstream broke"):
            async with quotas.stream(alice):
                raise ValueError("upstream broke")
        async with quotas.stream(alice):
            pass

    _run(scenario())
    assert quotas.open_streams == 0


def test_stream_slot_released_on_cancellation() -> None:
    quotas = QuotaManager(settings(principal=Limits(rate=1.0, burst=1, streams=1)), clock=FakeClock())
    alice = caller()

    async def scenario() -> None:
        entered = asyncio.Event()

        async def relay() -> None:
            async with quotas.stream(alice):
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(relay())
        await entered.wait()
        assert quotas.open_streams == 2  # the caller's slot and the tenant's
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with quotas.stream(alice):
            pass

    _run(scenario())
    assert quotas.open_streams == 0


def test_tenant_streams_are_shared() -> None:
    quotas = QuotaManager(settings(tenant=Limits(rate=1.0, burst=1, streams=1)), clock=FakeClock())

    async def scenario() -> None:
        async with quotas.stream(caller("a")):
            with pytest.raises(RateLimitedError, match="tenant"):
                async with quotas.stream(caller("b")):
                    pass
        async with quotas.stream(caller("b")):
            pass

    _run(scenario())


def test_threads_never_exceed_the_burst() -> None:
    quotas = QuotaManager(settings(principal=Limits(rate=1.0, burst=50, streams=1)), clock=FakeClock())
    alice = caller()
    passed: list[int] = []

    def hammer() -> None:
        passed.append(allowed(quotas, alice, 40))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(passed) == 50
