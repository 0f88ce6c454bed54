"""Property tests: the TDX quote and event-log parsers only raise FormatError, and round-trip."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.evidence.tdx import (
    EV_NO_ACTION,
    TPM_ALG_SHA384,
    BodyType,
    parse_event_log,
    parse_quote,
    serialize_event_log,
    serialize_quote,
)
from tests.unit.evidence_tdx.test_quote_synthetic import make

SEEDS = [make(3, BodyType.SGX), make(4), make(5, BodyType.TD15), make(5, BodyType.SGX)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_only_raise_format_error(data: bytes) -> None:
    try:
        quote = parse_quote(data, allow_trailing=True)
    except FormatError:
        return
    assert serialize_quote(quote) == quote.raw


@settings(max_examples=400, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 6000), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 64),
    trailing=st.binary(max_size=8),
)
def test_mutated_near_valid_quotes_round_trip_or_fail_cleanly(
    seed: bytes, edits: list[tuple[int, int]], cut: int, trailing: bytes
) -> None:
    blob = bytearray(seed)
    for offset, value in edits:
        blob[offset % len(blob)] = value
    mutated = bytes(blob[: len(blob) - cut]) + trailing
    try:
        quote = parse_quote(mutated)
    except FormatError:
        return
    assert serialize_quote(quote) == mutated
    assert parse_quote(serialize_quote(quote)) == quote
    assert not any(quote.padding)


def _log(events: list[tuple[int, int, bytes, bytes]]) -> bytes:
    spec = b"Spec ID Event03\x00" + struct.pack("<IBBBBIHHB", 0, 0, 2, 0, 2, 1, TPM_ALG_SHA384, 48, 0)
    out = struct.pack("<II", 0, EV_NO_ACTION) + bytes(20) + struct.pack("<I", len(spec)) + spec
    for index, etype, digest, data in events:
        out += (
            struct.pack("<IIIH", index, etype, 1, TPM_ALG_SHA384)
            + digest
            + struct.pack("<I", len(data))
            + data
        )
    return out


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.integers(0, 2**32 - 1),
            st.binary(min_size=48, max_size=48),
            st.binary(max_size=40),
        ),
        max_size=6,
    ),
    edits=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=3),
    fill=st.sampled_from([b"", b"\xff" * 40, bytes(40)]),
)
def test_mutated_event_logs_round_trip_or_fail_cleanly(
    events: list[tuple[int, int, bytes, bytes]], edits: list[tuple[int, int]], fill: bytes
) -> None:
    blob = bytearray(_log(events) + fill)
    for offset, value in edits:
        blob[offset % len(blob)] = value
    try:
        log = parse_event_log(bytes(blob))
    except FormatError:
        return
    assert serialize_event_log(log) == bytes(blob)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500))
def test_random_event_logs_only_raise_format_error(data: bytes) -> None:
    try:
        log = parse_event_log(data)
    except FormatError:
        return
    assert serialize_event_log(log) == data
