"""Fuzz properties for evidence-log records: on any bytes only ``FormatError`` escapes the record
reader, and whatever it accepts is canonical and re-encodes to the same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.log import build_record, canonicalize, parse_canonical, parse_record
from tests.unit.log.logdata import denial, relay

AT = datetime(2026, 5, 1, tzinfo=UTC)
VALID = [
    build_record("inference.relayed", relay(3, 1), at=AT).data,
    build_record("authorization.denied", denial(1), at=AT).data,
]


def _check(data: bytes) -> None:
    try:
        record = parse_record(data)
    except FormatError:
        return
    assert (
        canonicalize({"v": 1, "type": record.type, "time": json.loads(data)["time"], **record.fields}) == data
    )


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_mutated_records(base: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(base)
    for position, value in flips:
        data[position % len(data)] = value
    _check(bytes(data))


json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=20,
).map(lambda v: json.dumps(v, separators=(",", ":")).encode())


@settings(max_examples=500, deadline=None)
@given(json_text)
def test_arbitrary_json(data: bytes) -> None:
    _check(data)
    try:
        value = parse_canonical(data, max_bytes=1 << 16)
    except FormatError:
        return
    assert canonicalize(value) == data
