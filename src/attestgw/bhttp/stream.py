"""Incremental indeterminate-length Binary HTTP responses (RFC 9292 §3.5, framing indicator 3).

Streams (server-sent events inside chunked OHTTP) need a response that is written and read piece by
piece: :class:`ResponseStreamEncoder` writes the head, one content chunk per :meth:`body` call and
the trailers; :class:`ResponseStreamDecoder` turns bytes, fed in any split, back into events.

The decoder is strict and bounded: every section must end with its terminator (a stream is only
complete after the trailer section's terminator; :meth:`ResponseStreamDecoder.finish` refuses
anything less), field lines are checked like the whole-message decoder's, interim (1xx) responses
are passed through as events, and a single content chunk or field section larger than the limits
is refused before it is buffered. Bytes after the trailers must be zero padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attestgw.bhttp.decode import DEFAULT_LIMITS, INDETERMINATE_RESPONSE, DecodeLimits
from attestgw.bhttp.message import Field, new_field, validate_fields
from attestgw.bhttp.varint import encode_varint, peek_varint
from attestgw.errors import FormatError

__all__ = [
    "ResponseStreamDecoder",
    "ResponseStreamEncoder",
    "StreamBody",
    "StreamEnd",
    "StreamEvent",
    "StreamHead",
    "StreamInterim",
]

_MALFORMED = "bhttp.malformed"
_MAX_FIELD_BYTES = 64 * 1024
_MAX_CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StreamInterim:
    """An informational (1xx) response before the final one."""

    status: int
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class StreamHead:
    """The final status and header fields."""

    status: int
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class StreamBody:
    """One content chunk, in order."""

    data: bytes


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The trailer fields; the message is complete."""

    trailers: tuple[Field, ...]


StreamEvent = StreamInterim | StreamHead | StreamBody | StreamEnd


def _section(fields: Sequence[Field]) -> bytes:
    validate_fields(fields, "stream")
    parts: list[bytes] = []
    for f in fields:
        parts += (encode_varint(len(f.name)), f.name, encode_varint(len(f.value)), f.value)
    parts.append(b"\x00")
    return b"".join(parts)  # one copy of each name and value, no intermediate concatenations


class ResponseStreamEncoder:
    """Writes one indeterminate-length response: ``head``, any number of ``body``, then ``end``."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = "head"

    def head(self, status: int, fields: Sequence[Field] = ()) -> bytes:
        if self._state != "head":
            raise ValueError("head() must come first and only once")
        if not 200 <= status <= 599:
            raise ValueError(f"final status {status}, want 200-599")
        self._state = "body"
        return encode_varint(INDETERMINATE_RESPONSE) + encode_varint(status) + _section(fields)

    def body(self, data: bytes) -> bytes:
        if self._state != "body":
            raise ValueError("body() only between head() and end()")
        if not data:
            return b""  # a zero-length chunk would terminate the content
        return encode_varint(len(data)) + data

    def end(self, trailers: Sequence[Field] = ()) -> bytes:
        if self._state != "body":
            raise ValueError("end() only once, after head()")
        self._state = "done"
        return b"\x00" + _section(trailers)


class ResponseStreamDecoder:
    """Decodes an indeterminate-length response fed in arbitrary pieces."""

    __slots__ = ("_buf", "_fields", "_limits", "_state", "_status")

    def __init__(self, limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buf = bytearray()
        self._state = "framing"
        self._status = 0
        self._fields: list[Field] = []

    @property
    def complete(self) -> bool:
        return self._state == "padding"

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Consume ``data``; return the events it completes. Raises ``FormatError`` only."""
        self._buf += data
        events: list[StreamEvent] = []
        while True:
            event, progressed = self._step()
            if event is not None:
                events.append(event)
            if not progressed:
                return events

    def finish(self) -> None:
        """Refuse a stream that ended before its trailer section was complete."""
        if self._state != "padding":
            raise FormatError(_MALFORMED, f"binary HTTP stream ended early (in {self._state})")

    def _consume(self, upto: int) -> None:
        del self._buf[:upto]

    def _step(self) -> tuple[StreamEvent | None, bool]:
        state = self._state
        if state == "padding":
            if any(self._buf):
                raise FormatError(_MALFORMED, "non-zero bytes after the end of the message")
            self._buf.clear()
            return None, False
        if state in ("interim_fields", "head_fields", "trailers"):
            return self._field_step()
        got = peek_varint(self._buf, 0)
        if got is None:
            return None, False
        value, pos = got
        if state == "framing":
            if value != INDETERMINATE_RESPONSE:
                raise FormatError(_MALFORMED, f"framing indicator {value}, want 3 (indeterminate response)")
            self._consume(pos)
            self._state = "status"
            return None, True
        if state == "status":
            if not 100 <= value <= 599:
                raise FormatError(_MALFORMED, f"status {value} out of range")
            self._consume(pos)
            self._status = value
            self._state = "interim_fields" if value < 200 else "head_fields"
            return None, True
        # state == "content"
        if value == 0:
            self._consume(pos)
            self._state = "trailers"
            return None, True
        if value > _MAX_CHUNK:
            raise FormatError(_MALFORMED, f"content chunk of {value} bytes exceeds {_MAX_CHUNK}")
        if pos + value > len(self._buf):
            return None, False
        data = bytes(self._buf[pos : pos + value])
        self._consume(pos + value)
        return StreamBody(data), True

    def _field_step(self) -> tuple[StreamEvent | None, bool]:
        got = peek_varint(self._buf, 0)
        if got is None:
            return None, False
        name_len, pos = got
        if name_len == 0:
            self._consume(pos)
            fields = tuple(self._fields)
            self._fields = []
            validate_fields(fields, self._state)
            if self._state == "interim_fields":
                self._state = "status"
                return StreamInterim(self._status, fields), True
            if self._state == "head_fields":
                self._state = "content"
                return StreamHead(self._status, fields), True
            self._state = "padding"
            return StreamEnd(fields), True
        if name_len > _MAX_FIELD_BYTES:
            raise FormatError(_MALFORMED, f"field name of {name_len} bytes")
        if pos + name_len > len(self._buf):
            return None, False
        name = bytes(self._buf[pos : pos + name_len])
        got = peek_varint(self._buf, pos + name_len)
        if got is None:
            return None, False
        value_len, vpos = got
        if value_len > _MAX_FIELD_BYTES:
            raise FormatError(_MALFORMED, f"field value of {value_len} bytes")
        if vpos + value_len > len(self._buf):
            return None, False
        if len(self._fields) >= self._limits.max_field_lines:
            raise FormatError("bhttp.limit_exceeded", f"more than {self._limits.max_field_lines} field lines")
        self._fields.append(new_field(name, bytes(self._buf[vpos : vpos + value_len])))
        self._consume(vpos + value_len)
        return None, True
