"""Incremental framing of chunked OHTTP bodies (draft-ietf-ohai-chunked-ohttp §3, §4).

After its header (request) or nonce (response) a chunked message is a run of
``varint length (≥ 1) ‖ sealed chunk`` followed by ``varint 0 ‖ sealed final chunk``, the final
chunk extending to the end of the stream. Lengths are not authenticated (a transport may re-chunk)
and may use non-minimal varints; order and finality are protected by the AEAD, not here.

:class:`ChunkFramer` takes bytes as they arrive and hands out complete sealed chunks. Only
:meth:`ChunkFramer.finish` (the end of the stream) can say whether the final chunk arrived: without
the zero-length marker the stream was cut, which is ``ohttp.truncated``. Memory is bounded: a chunk
longer than ``max_chunk`` bytes (sealed) is refused with ``ohttp.malformed`` as soon as its length is
read, and so is a final chunk that grows beyond it.
"""

from __future__ import annotations

from attestgw.errors import DecryptionError, FormatError

__all__ = ["DEFAULT_MAX_CHUNK", "ChunkFramer"]

#: Largest sealed chunk accepted by default: 1 MiB (the draft requires supporting 16 KiB).
DEFAULT_MAX_CHUNK = 1 << 20


# Value bits of a 1-, 2-, 4- and 8-byte varint, by the 2-bit length prefix.
_VARINT_MASKS = ((1 << 6) - 1, (1 << 14) - 1, (1 << 30) - 1, (1 << 62) - 1)


def _peek_varint(buf: bytearray, pos: int) -> tuple[int, int] | None:
    """``(value, next_pos)``, or None when ``buf`` ends inside the varint."""
    if pos >= len(buf):
        return None
    prefix = buf[pos] >> 6
    end = pos + (1 << prefix)
    if end > len(buf):
        return None
    return int.from_bytes(buf[pos:end], "big") & _VARINT_MASKS[prefix], end


class ChunkFramer:
    """Splits a chunked OHTTP body into sealed chunks as bytes arrive."""

    __slots__ = ("_buf", "_final", "max_chunk")

    def __init__(self, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        self.max_chunk = max_chunk
        self._buf = bytearray()
        self._final = False

    @property
    def final_started(self) -> bool:
        """Whether the zero-length marker of the final chunk has been read."""
        return self._final

    def _check_final_size(self) -> None:
        if len(self._buf) > self.max_chunk:
            raise FormatError("ohttp.malformed", f"final chunk exceeds {self.max_chunk} bytes")

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the sealed non-final chunks completed by them, in order."""
        self._buf += data
        if self._final:
            self._check_final_size()
            return []
        chunks: list[bytes] = []
        pos = 0
        while (parsed := _peek_varint(self._buf, pos)) is not None:
            length, body = parsed
            if length == 0:
                self._final = True
                pos = body
                break
            if length > self.max_chunk:
                raise FormatError("ohttp.malformed", f"chunk of {length} bytes exceeds {self.max_chunk}")
            if body + length > len(self._buf):
                break
            chunks.append(bytes(self._buf[body : body + length]))
            pos = body + length
        del self._buf[:pos]
        if self._final:
            self._check_final_size()
        return chunks

    def finish(self) -> bytes:
        """The sealed final chunk; ``ohttp.truncated`` when the stream ended without one."""
        if not self._final:
            raise DecryptionError("ohttp.truncated", "the stream ended without its final chunk")
        final = bytes(self._buf)
        self._buf.clear()
        return final
