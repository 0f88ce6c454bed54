"""Quotas: request rate (token buckets) and concurrent streams, per principal and per tenant.

Every request takes one token from the caller's bucket (keyed by principal digest) **and** one from
its tenant's bucket (keyed by ``tenant_key``: the tenant, or the caller itself when it has none);
when either is empty nothing is taken and the request is refused with ``quota.rate_exceeded`` and
``retry_after`` = whole seconds until both hold a token again (≥ 1). A bucket refills continuously at
``rate`` tokens per second up to ``burst``; a new bucket starts full.

A stream holds one slot of the caller and one of its tenant from ``async with quotas.stream(p)``
until the block exits — normally, by exception or by cancellation. Over the limit:
``quota.concurrency_exceeded`` with ``retry_after`` = 1.

Role overrides (``[quotas.roles.<role>]``) replace the principal limits for callers holding that role;
with several, each field takes the most generous value. Tenant overrides replace the tenant limits.

Memory: at most ``max_tracked_keys`` buckets are kept; the least recently used is evicted first
(an evicted bucket comes back full, which for an idle caller is exactly its state anyway). Stream
counters exist only while a stream is open. Thread-safe and asyncio-safe: one lock, never held across
an ``await``. Time comes from the injected monotonic ``clock`` (seconds).

Not checked: fairness between callers, or limits across gateway replicas (each replica counts alone).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType

from attestgw.access.caller import Caller
from attestgw.access.quota_settings import Limits, QuotaSettings
from attestgw.errors import RateLimitedError

__all__ = ["QuotaManager"]

_Key = tuple[str, str]


class _Bucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, limits: Limits, now: float) -> None:
        self.rate = limits.rate
        self.burst = limits.burst
        self.tokens = float(limits.burst)
        self.stamp = now

    def refill(self, limits: Limits, now: float) -> None:
        self.rate, self.burst = limits.rate, limits.burst
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.stamp = max(self.stamp, now)

    def wait(self) -> float:
        """Seconds until one token is available (0 when one is)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class _StreamSlot(AbstractAsyncContextManager[None]):
    __slots__ = ("_caller", "_keys", "_manager")

    def __init__(self, manager: QuotaManager, caller: Caller) -> None:
        self._manager = manager
        self._caller = caller
        self._keys: tuple[_Key, _Key] | None = None

    async def __aenter__(self) -> None:
        if self._keys is not None:
            raise RuntimeError("a stream slot is not reentrant")
        self._keys = self._manager._acquire_stream(self._caller)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        keys, self._keys = self._keys, None
        if keys is not None:
            self._manager._release_stream(keys)


class QuotaManager:
    """Implements the gateway's ``Quotas`` port (see the module docstring for the semantics)."""

    def __init__(self, settings: QuotaSettings | None = None, *, clock: Callable[[], float] = time.monotonic):
        self._settings = settings if settings is not None else QuotaSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[_Key, _Bucket] = OrderedDict()
        self._streams: dict[_Key, int] = {}

    @property
    def tracked_keys(self) -> int:
        """How many rate buckets are held now (≤ ``max_tracked_keys``)."""
        return len(self._buckets)

    @property
    def open_streams(self) -> int:
        """How many stream slots are held now, principal and tenant counted separately."""
        with self._lock:
            return sum(self._streams.values())

    def _principal_limits(self, caller: Caller) -> Limits:
        base = self._settings.principal
        matched = [self._settings.roles[r] for r in caller.roles if r in self._settings.roles]
        if not matched:
            return base
        return Limits(
            rate=max(m.rate for m in matched),
            burst=max(m.burst for m in matched),
            streams=max(m.streams for m in matched),
        )

    def _tenant_limits(self, caller: Caller) -> Limits:
        tenant = caller.tenant
        if tenant is not None and tenant in self._settings.tenants:
            return self._settings.tenants[tenant]
        return self._settings.tenant

    def _bucket(self, key: _Key, limits: Limits, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limits, now)
            while len(self._buckets) > self._settings.max_tracked_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.refill(limits, now)
        return bucket

    def check_rate(self, principal: Caller) -> None:
        """Take one token from the principal's and the tenant's bucket, or raise and take none."""
        own_limits, tenant_limits = self._principal_limits(principal), self._tenant_limits(principal)
        with self._lock:
            now = self._clock()
            own = self._bucket(("principal", principal.digest), own_limits, now)
            tenant = self._bucket(("tenant", principal.tenant_key), tenant_limits, now)
            own_wait, tenant_wait = own.wait(), tenant.wait()
            if own_wait == 0.0 and tenant_wait == 0.0:
                own.tokens -= 1.0
                tenant.tokens -= 1.0
                return
        which = "the caller's" if own_wait >= tenant_wait else "the tenant's"
        limits = own_limits if own_wait >= tenant_wait else tenant_limits
        raise RateLimitedError(
            "quota.rate_exceeded",
            f"{which} request rate is exhausted ({limits.rate:g}/s, burst {limits.burst})",
            retry_after=max(1, math.ceil(max(own_wait, tenant_wait))),
        )

    def stream(self, principal: Caller) -> AbstractAsyncContextManager[None]:
        """An ``async with`` block holding one stream slot of the principal and of its tenant."""
        return _StreamSlot(self, principal)

    def _acquire_stream(self, caller: Caller) -> tuple[_Key, _Key]:
        own: _Key = ("principal", caller.digest)
        tenant: _Key = ("tenant", caller.tenant_key)
        own_max, tenant_max = self._principal_limits(caller).streams, self._tenant_limits(caller).streams
        with self._lock:
            if self._streams.get(own, 0) >= own_max:
                which, limit = "the caller", own_max
            elif self._streams.get(tenant, 0) >= tenant_max:
                which, limit = "the tenant", tenant_max
            else:
                self._streams[own] = self._streams.get(own, 0) + 1
                self._streams[tenant] = self._streams.get(tenant, 0) + 1
                return own, tenant
        raise RateLimitedError(
            "quota.concurrency_exceeded", f"{which} already has {limit} streams open", retry_after=1
        )

    def _release_stream(self, keys: tuple[_Key, _Key]) -> None:
        with self._lock:
            for key in keys:
                left = self._streams.get(key, 0) - 1
                if left > 0:
                    self._streams[key] = left
                else:
                    self._streams.pop(key, None)
