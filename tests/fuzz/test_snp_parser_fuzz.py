"""Property tests: the SNP parsers only ever raise FormatError, and parse ↔ serialize round-trips."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.evidence.snp import (
    REPORT_SIZE,
    parse_cert_table,
    parse_hcl_report,
    parse_report,
    serialize_report,
)


def _valid_prefix(version: int, policy: int, signer: int) -> bytes:
    head = bytearray(0x50)
    struct.pack_into("<I", head, 0, version)
    struct.pack_into("<Q", head, 8, policy)
    struct.pack_into("<I", head, 0x34, 1)
    struct.pack_into("<I", head, 0x48, signer)
    return bytes(head)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=3000))
def test_parse_report_only_raises_format_error(data: bytes) -> None:
    try:
        report = parse_report(data)
    except FormatError:
        return
    assert serialize_report(report) == report.raw


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from([2, 3, 4, 5]),
    policy=st.integers(0, (1 << 26) - 1).map(lambda p: p | 1 << 17),
    signer=st.sampled_from([0, 1, 2, 3, 4 | 0, 4 | 1, 28, 31]),
    body=st.binary(min_size=REPORT_SIZE - 0x50, max_size=REPORT_SIZE - 0x50),
    flips=st.lists(st.integers(0, REPORT_SIZE - 1), max_size=4),
)
def test_near_valid_reports_round_trip_or_fail_cleanly(
    version: int, policy: int, signer: int, body: bytes, flips: list[int]
) -> None:
    """Mostly-valid headers reach deep into the parser; random bodies exercise the MBZ checks."""
    blob = bytearray(_valid_prefix(version, policy, signer) + body)
    for i in flips:
        blob[i] ^= 0xFF
    try:
        report = parse_report(bytes(blob))
    except FormatError:
        return
    assert serialize_report(report) == bytes(blob)
    assert parse_report(serialize_report(report)) == report


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_cert_table_only_raises_format_error(data: bytes) -> None:
    try:
        table = parse_cert_table(data)
    except FormatError:
        return
    assert all(entry.data for entry in table.entries)
    assert len({entry.guid for entry in table.entries}) == len(table.entries)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1400))
def test_hcl_only_raises_format_error(data: bytes) -> None:
    try:
        hcl = parse_hcl_report(b"HCLA" + data)
    except FormatError:
        return
    assert len(hcl.snp_report) == REPORT_SIZE
