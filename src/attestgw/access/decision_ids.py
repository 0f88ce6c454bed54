"""Decision ids: unique and time-sortable, so a 403, a log line and a log record can be matched up.

The format is a UUIDv7 (RFC 9562 §5.7) in its usual text form: 48 bits of Unix milliseconds, then a
12-bit counter in ``rand_a`` (§6.2, method 1) so ids from one generator sort in issue order even within
one millisecond or when the wall clock steps back, then 62 random bits.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable

__all__ = ["DecisionIds"]

_COUNTER_MAX = 0xFFF


class DecisionIds:
    """A thread-safe source of decision ids; call it to get the next one.

    ``clock_ns`` returns wall-clock nanoseconds since the Unix epoch (injected for tests). Ids from one
    instance are strictly increasing as strings; ids from different processes are unique with
    overwhelming probability (62 random bits per id) but only ordered to the millisecond.
    Not checked: that the clock is right; a clock far in the future makes ids sort after later ones
    from other generators.
    """

    __slots__ = ("_clock_ns", "_counter", "_last_ms", "_lock")

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            ms = max(0, self._clock_ns() // 1_000_000)
            if ms > self._last_ms:
                self._last_ms, self._counter = ms, 0
            elif self._counter < _COUNTER_MAX:
                self._counter += 1
            else:
                # Counter exhausted within one millisecond: borrow the next one (RFC 9562 §6.2).
                self._last_ms, self._counter = self._last_ms + 1, 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8), "big") >> 2
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return str(uuid.UUID(int=value))
