"""QUIC variable-length integers (RFC 9000 §16) and a bounded byte reader over them.

Binary HTTP (RFC 9292) and chunked Oblivious HTTP both frame their data with these integers: the two
high bits of the first byte give the length (00 → 1, 01 → 2, 10 → 4, 11 → 8 bytes) and the rest is
the value, big-endian, so values go up to 2^62 - 1. Decoders must accept non-minimal encodings
(RFC 9292 §3 says so explicitly); :func:`encode_varint` always writes the shortest form.

:class:`ByteReader` never reads past the end of its buffer: every read that would raises
:class:`~attestgw.errors.FormatError` with the error code the caller chose when it made the reader,
so each format reports its own code (``bhttp.malformed``, ``ohttp.malformed``, …). Parsers that keep
their own offset into a buffer use :func:`peek_varint` (``None`` when the buffer ends inside the
varint, for incremental readers) or :func:`read_varint_at` (the same refusal as :class:`ByteReader`).

These functions run several times for every field line of every sealed message, so the one-byte form
(values below 64) is handled first: encoded from a table, decoded without slicing or
``int.from_bytes``; the two-byte form is also decoded with plain arithmetic.
"""

from __future__ import annotations

from attestgw.errors import FormatError

__all__ = ["MAX_VARINT", "ByteReader", "encode_varint", "peek_varint", "read_varint_at", "varint_size"]

#: The largest value a QUIC varint can hold.
MAX_VARINT = (1 << 62) - 1

#: The encodings of 0-63, which are their own single byte.
_ONE_BYTE = tuple(bytes((value,)) for value in range(64))

#: For the four- and eight-byte forms, the mask that drops the two length bits from the value.
_VALUE_MASK = {size: (1 << (8 * size - 2)) - 1 for size in (4, 8)}


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
    if 0 <= value < 1 << 6:  # the common case, before the range check
        return _ONE_BYTE[value]
    if value < 0 or value > MAX_VARINT:
        raise ValueError(f"varint out of range: {value}")
    # The length bits (01, 10, 11) sit above every value bit of their size, so OR-ing them in
    # before the conversion writes prefix and value in one go.
    if value < 1 << 14:
        return (value | 0x4000).to_bytes(2, "big")
    if value < 1 << 30:
        return (value | 0x8000_0000).to_bytes(4, "big")
    return (value | 0xC000_0000_0000_0000).to_bytes(8, "big")


def peek_varint(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int] | None:
    """The varint at ``pos`` (any of its encodings) and the offset after it; None if it is cut short.

    ``data`` is indexed in place: a reader keeps its own offset instead of slicing what is left.
    """
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x40:
        return first, pos + 1
    if first < 0x80:  # two bytes: plain arithmetic is several times cheaper than int.from_bytes
        if pos + 2 > len(data):
            return None
        return (first & 0x3F) << 8 | data[pos + 1], pos + 2
    size = 4 if first < 0xC0 else 8
    end = pos + size
    if end > len(data):
        return None
    return int.from_bytes(data[pos:end], "big") & _VALUE_MASK[size], end


def read_varint_at(data: bytes | bytearray | memoryview, pos: int, code: str) -> tuple[int, int]:
    """:func:`peek_varint` for a complete buffer: a varint cut short raises ``FormatError(code)``."""
    parsed = peek_varint(data, pos)
    if parsed is not None:
        return parsed
    if pos >= len(data):
        raise FormatError(code, f"need a varint at offset {pos}, got end of data")
    size = 1 << (data[pos] >> 6)
    raise FormatError(code, f"need a {size}-byte varint at offset {pos}, got {len(data) - pos} bytes")


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
        start = self._pos
        end = start + n
        if n < 0 or end > len(self._data):
            raise self.fail(f"need {n} bytes at offset {start}, got {self.remaining}")
        self._pos = end
        return self._data[start:end].tobytes()

    def read_varint(self) -> int:
        """The next QUIC varint (any of its encodings)."""
        value, self._pos = read_varint_at(self._data, self._pos, self._code)
        return value

    def read_prefixed(self) -> bytes:
        """A varint length followed by that many bytes."""
        return self.read(self.read_varint())

    def rest(self) -> bytes:
        """Everything not yet read (consumes it)."""
        return self.read(self.remaining)
