"""Decision ids are UUIDv7, unique, and sort in issue order even when the clock stalls or steps back."""

from __future__ import annotations

import uuid

from attestgw.access import DecisionIds


def test_ids_are_uuid7_carrying_the_millisecond() -> None:
    ids = DecisionIds(clock_ns=lambda: 1_700_000_000_123_456_789)
    value = uuid.UUID(ids())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_700_000_000_123


def test_same_millisecond_and_backwards_clock_still_sort() -> None:
    times = iter([5_000_000, 5_000_000, 5_000_001, 4_000_000, 9_000_000] + [9_000_000] * 5000)
    ids = DecisionIds(clock_ns=lambda: next(times))
    issued = [ids() for _ in range(5005)]  # more than 4096 in one millisecond: the counter rolls over
    assert issued == sorted(issued)
    assert len(set(issued)) == len(issued)
