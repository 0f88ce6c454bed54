"""The GHCB extended-report certificate table."""

from __future__ import annotations

import struct
import uuid

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.snp import ARK_GUID, ASK_GUID, VCEK_GUID, parse_cert_table, serialize_cert_table


def test_round_trip_and_lookup() -> None:
    blob = serialize_cert_table([(VCEK_GUID, b"vcek-der"), (ASK_GUID, b"ask"), (ARK_GUID, b"ark")])
    table = parse_cert_table(blob + bytes(100))  # hosts hand out padded, page-sized buffers
    assert table.get(VCEK_GUID) == b"vcek-der"
    assert table.get(ARK_GUID) == b"ark"
    assert table.get(uuid.uuid4()) is None


@pytest.mark.parametrize(
    ("case", "blob"),
    [
        ("empty", b""),
        ("no terminator", struct.pack("<16sII", VCEK_GUID.bytes, 48, 4) + b"abcd"),
        ("offset inside headers", struct.pack("<16sII", VCEK_GUID.bytes, 10, 4) + bytes(24) + b"abcd"),
        ("length past end", struct.pack("<16sII", VCEK_GUID.bytes, 48, 400) + bytes(24) + b"abcd"),
        ("zero length", struct.pack("<16sII", VCEK_GUID.bytes, 48, 0) + bytes(24) + b"abcd"),
        (
            "duplicate guid",
            struct.pack("<16sII", VCEK_GUID.bytes, 72, 1) * 2 + bytes(24) + b"a",
        ),
    ],
)
def test_malformed_tables_are_refused(case: str, blob: bytes) -> None:
    with pytest.raises(FormatError) as err:
        parse_cert_table(blob)
    assert err.value.code == "snp.cert_table_invalid", case
