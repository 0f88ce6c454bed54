"""QUIC variable-length integers (RFC 9000 §16) and a bounded byte reader over them.

Binary HTTP (RFC 9292) and chunked Oblivious HTTP both frame their data with these integers: the two
high bits of the first byte give the length (00 → 1, 01 → 2, 10 → 4, 11 → 8 bytes) and the rest is
the value, big-endian, so values go up to 2^62 - 1. Decoders must accept non-minimal encodings
(RFC 9292 §3 says so explicitly); :func:`encode_varint` always writes the shortest form.

:class:`ByteReader` never reads past the end of its buffer: every read that would raises
:class:`~attestgw.errors.FormatError` with the error code the caller chose when it made the reader,
so each format reports its own code (``bhttp.malformed``, ``ohttp.malformed``, …).
"""

from __future__ import annotations

from attestgw.errors import FormatError

__all__ = ["MAX_VARINT", "ByteReader", "encode_varint", "varint_size"]

#: The largest value a QUIC varint can hold.
MAX_VARINT = (1 << 62) - 1


def varint_size(value: int) -> int:
    """Length in bytes of the minimal encoding of ``value``."""
    if value < 0 or value > MAX_VARINT:
        raise ValueError(f"varint out of range: {value}")
    if value < 1 << 6:
        return 1
    if value < 1 << 14:
        return 2
    if value < 1 << 30:
        return 4
    return 8


def encode_varint(value: int) -> bytes:
    """The minimal QUIC varint encoding of ``value`` (0 ≤ value < 2^62).

    A value out of range is a programming error (:class:`ValueError`), not a format error: callers
    encode lengths of buffers they hold, which cannot reach 2^62.
    """
    size = varint_size(value)
    prefix = {1: 0x00, 2: 0x40, 4: 0x80, 8: 0xC0}[size]
    raw = bytearray(value.to_bytes(size, "big"))
    raw[0] |= prefix
    return bytes(raw)


class ByteReader:
    """Reads bytes and varints from a buffer, front to back, never past its end.

    ``code`` is the registered error code raised (as :class:`FormatError`) on any short read.
    """

    __slots__ = ("_code", "_data", "_pos")

    def __init__(self, data: bytes | memoryview, code: str) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._code = code

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        """Offset of the next byte to read."""
        return self._pos

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def fail(self, message: str) -> FormatError:
        """The error this reader raises, for callers that detect a problem themselves."""
        return FormatError(self._code, message)

    def read(self, n: int) -> bytes:
        """The next ``n`` bytes; refuses to read past the end."""
        if n < 0 or n > self.remaining:
            raise self.fail(f"need {n} bytes at offset {self._pos}, got {self.remaining}")
        start = self._pos
        self._pos += n
        return bytes(self._data[start : self._pos])

    def read_varint(self) -> int:
        """The next QUIC varint (any of its encodings)."""
        if self.at_end():
            raise self.fail(f"need a varint at offset {self._pos}, got end of data")
        first = self._data[self._pos]
        size = 1 << (first >> 6)
        if size > self.remaining:
            raise self.fail(f"need a {size}-byte varint at offset {self._pos}, got {self.remaining} bytes")
        value = first & 0x3F
        for byte in self._data[self._pos + 1 : self._pos + size]:
            value = (value << 8) | byte
        self._pos += size
        return value

    def read_prefixed(self) -> bytes:
        """A varint length followed by that many bytes."""
        return self.read(self.read_varint())

    def rest(self) -> bytes:
        """Everything not yet read (consumes it)."""
        return self.read(self.remaining)
