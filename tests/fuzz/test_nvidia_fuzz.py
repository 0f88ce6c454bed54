"""Property tests: the SPDM / opaque TLV / envelope and RIM parsers only raise FormatError, and the
SPDM parser round-trips whatever it accepts."""

from __future__ import annotations

import contextlib
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.evidence.nvidia import (
    parse_gpu_evidence,
    parse_gpu_report,
    parse_opaque,
    parse_rim,
    serialize_gpu_report,
)

# A structurally valid report built by hand (no keys needed): 4 blocks, 2 TLVs, a zero signature.
_BLOCKS = b"".join(bytes((i, 1, 51, 0, 1, 48, 0)) + bytes([i]) * 48 for i in range(1, 5))
_OPAQUE = b"\x03\x00\x07\x00550.90\x00" + b"\x0b\x00\x01\x00\x55"
SEED = (
    bytes((0x11, 0xE0, 1, 0xFF))
    + os.urandom(32)
    + b"\x00"
    + bytes((0x11, 0x60, 0, 0, 4))
    + len(_BLOCKS).to_bytes(3, "little")
    + _BLOCKS
    + bytes(32)
    + len(_OPAQUE).to_bytes(2, "little")
    + _OPAQUE
    + bytes(96)
)
RIM = (
    b'<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" name="GH100" tagId="t">'
    b'<Meta colloquialVersion="1.0"/><Payload><Resource type="Measurement" index="0" active="True" '
    b'alternatives="1" xmlns:h="http://www.w3.org/2001/04/xmlenc#sha384" h:Hash0="'
    + b"00"
    * 48
    + b'" size="48"/>'
    b"</Payload></SoftwareIdentity>"
)


def test_seed_parses() -> None:
    report = parse_gpu_report(SEED)
    assert report.response.opaque.driver_version == "550.90"
    assert len(report.response.blocks) == 4


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_format_error(data: bytes) -> None:
    for parse in (parse_gpu_report, parse_opaque, parse_gpu_evidence, parse_rim):
        try:
            parse(data)
            code = "nvidia.parsed"
        except FormatError as err:
            code = err.code
        assert code.startswith(("nvidia.", "input.")), code


@settings(max_examples=400, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 40),
    trailing=st.binary(max_size=4),
)
def test_mutated_reports_round_trip_or_fail_cleanly(
    edits: list[tuple[int, int]], cut: int, trailing: bytes
) -> None:
    blob = bytearray(SEED)
    for offset, value in edits:
        blob[offset % len(blob)] = value
    mutated = bytes(blob[: len(blob) - cut]) + trailing
    try:
        report = parse_gpu_report(mutated)
    except FormatError:
        return
    assert serialize_gpu_report(report) == mutated
    opaque = report.response.opaque
    for name in (
        "driver_version",
        "vbios_version",
        "fwid",
        "nvdec0_enabled",
        "feature_flag",
        "opaque_data_version",
    ):
        with contextlib.suppress(FormatError):
            getattr(opaque, name)


@settings(max_examples=300, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 2000), st.sampled_from(list(b'<>"=&/ ax0:'))), max_size=4))
def test_mutated_rims_only_raise_format_error(edits: list[tuple[int, int]]) -> None:
    blob = bytearray(RIM)
    for offset, value in edits:
        blob[offset % len(blob)] = value
    try:
        parse_rim(bytes(blob))
        code = "nvidia.parsed"
    except FormatError as err:
        code = err.code
    assert code.startswith("nvidia."), code
