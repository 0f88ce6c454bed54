"""A bounded little-endian reader over one buffer; every overrun is a :class:`FormatError`.

Private to the TDX / event-log parsers: each caller names the error code an overrun maps to, so a
short quote says ``tdx.truncated`` and a short event log ``eventlog.malformed``.
"""

from __future__ import annotations

import struct

from attestgw.errors import FormatError

__all__ = ["Reader"]


class Reader:
    """Reads fields in order from ``data[pos:end]``; never reads past ``end``."""

    __slots__ = ("_code", "_data", "_end", "pos")

    def __init__(self, data: bytes, code: str, pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._code = code
        self.pos = pos
        self._end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self._end - self.pos

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or size > self.remaining:
            raise FormatError(
                self._code,
                f"{what} needs {size} bytes at offset {self.pos:#x}, only {self.remaining} left",
            )
        out = self._data[self.pos : self.pos + size]
        self.pos += size
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int(struct.unpack("<H", self.take(2, what))[0])

    def u32(self, what: str) -> int:
        return int(struct.unpack("<I", self.take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack("<Q", self.take(8, what))[0])
