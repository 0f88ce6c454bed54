"""Extended-report certificate table (GHCB spec #56421, SNP_GUEST_REQUEST extended; formats.md §2.4).

A sequence of 24-byte entries ``{GUID (16 bytes, RFC 4122 binary), offset u32 LE, length u32 LE}``
ending with an all-zero entry. Offsets are from the start of the table and must point past the
entry headers; each certificate must lie inside the buffer. Trailing padding after the last
certificate is allowed (the host hands out page-sized buffers).

The table is **untrusted host input**: this module only splits it; trust comes from the pinned ARK.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from attestgw.encoding import decode_blob
from attestgw.errors import FormatError

__all__ = [
    "ARK_GUID",
    "ASK_GUID",
    "EXTRA_PLATFORM_INFO_GUID",
    "VCEK_GUID",
    "VLEK_GUID",
    "CertTable",
    "CertTableEntry",
    "parse_cert_table",
    "serialize_cert_table",
]

VCEK_GUID = uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd")
VLEK_GUID = uuid.UUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1")
ASK_GUID = uuid.UUID("4ab7b379-bbac-4fe4-a02f-05aef327c782")
ARK_GUID = uuid.UUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")
EXTRA_PLATFORM_INFO_GUID = uuid.UUID("ecae0c0f-9502-43b1-afa2-0ae2e0d565b6")

_ENTRY = 24
_MAX_ENTRIES = 64


@dataclass(frozen=True, slots=True)
class CertTableEntry:
    guid: uuid.UUID
    data: bytes


@dataclass(frozen=True, slots=True)
class CertTable:
    entries: tuple[CertTableEntry, ...]

    def get(self, guid: uuid.UUID) -> bytes | None:
        for entry in self.entries:
            if entry.guid == guid:
                return entry.data
        return None


def parse_cert_table(data: bytes) -> CertTable:
    """Split a certificate table (raw, hex or base64). Raises ``FormatError`` only."""
    blob = decode_blob(bytes(data))
    headers: list[tuple[uuid.UUID, int, int]] = []
    seen: set[uuid.UUID] = set()
    pos = 0
    while True:
        if pos + _ENTRY > len(blob):
            raise FormatError("snp.cert_table_invalid", "certificate table has no terminating entry")
        raw_guid, offset, length = struct.unpack_from("<16sII", blob, pos)
        pos += _ENTRY
        if not any(raw_guid) and offset == 0 and length == 0:
            break
        if len(headers) >= _MAX_ENTRIES:
            raise FormatError("snp.cert_table_invalid", f"more than {_MAX_ENTRIES} entries")
        guid = uuid.UUID(bytes=raw_guid)
        if guid in seen:
            raise FormatError("snp.cert_table_invalid", f"duplicate entry {guid}")
        seen.add(guid)
        headers.append((guid, offset, length))
    header_end = pos
    out: list[CertTableEntry] = []
    for guid, offset, length in headers:
        if offset < header_end or length == 0 or offset + length > len(blob):
            raise FormatError(
                "snp.cert_table_invalid",
                f"entry {guid}: offset {offset} length {length} outside the certificate data",
            )
        out.append(CertTableEntry(guid, blob[offset : offset + length]))
    return CertTable(tuple(out))


def serialize_cert_table(entries: list[tuple[uuid.UUID, bytes]]) -> bytes:
    """Build a table the way the host does: headers, zero terminator, then the certificates."""
    header_len = _ENTRY * (len(entries) + 1)
    headers = bytearray()
    body = bytearray()
    for guid, data in entries:
        headers += struct.pack("<16sII", guid.bytes, header_len + len(body), len(data))
        body += data
    headers += bytes(_ENTRY)
    return bytes(headers + body)
