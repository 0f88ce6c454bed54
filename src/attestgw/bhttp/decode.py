"""Decode Binary HTTP (RFC 9292 §3): known-length and indeterminate-length requests and responses.

The decoder is strict and bounded:

1. the framing indicator must be 0–3 (and a request or response as the caller asked);
2. control data must be complete; field sections, content and trailers may be *truncated* only at a
   section boundary at the very end of the message (RFC 9292 §3.1, §3.8), and then count as empty;
3. a known-length field section must be filled exactly by whole field lines; an indeterminate one
   must end with its zero terminator, as must indeterminate content;
4. every byte after the message must be a zero padding byte;
5. at most :attr:`DecodeLimits.max_field_lines` lines per section and
   :attr:`DecodeLimits.max_informational` interim responses (``bhttp.limit_exceeded``);
6. the result must pass :func:`~attestgw.bhttp.message.validate_request` /
   :func:`~attestgw.bhttp.message.validate_response` (``bhttp.field_invalid``).

Everything else raises ``FormatError("bhttp.malformed")``. Memory is bounded by the input: no
length read from the message allocates more than the bytes actually present.
"""

from __future__ import annotations

from dataclasses import dataclass

from attestgw.bhttp.message import (
    Field,
    InformationalResponse,
    Request,
    Response,
    new_field,
    new_request,
    new_response,
    validate_request,
    validate_response,
)
from attestgw.bhttp.varint import read_varint_at
from attestgw.errors import FormatError

__all__ = [
    "DEFAULT_LIMITS",
    "INDETERMINATE_REQUEST",
    "INDETERMINATE_RESPONSE",
    "KNOWN_LENGTH_REQUEST",
    "KNOWN_LENGTH_RESPONSE",
    "DecodeLimits",
    "decode_message",
    "decode_request",
    "decode_response",
]

#: Framing indicators (RFC 9292 §3.3).
KNOWN_LENGTH_REQUEST = 0
KNOWN_LENGTH_RESPONSE = 1
INDETERMINATE_REQUEST = 2
INDETERMINATE_RESPONSE = 3

_MALFORMED = "bhttp.malformed"


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds the decoder enforces beyond the input length itself."""

    max_field_lines: int = 256
    max_informational: int = 16


DEFAULT_LIMITS = DecodeLimits()


def _fail(message: str) -> FormatError:
    return FormatError(_MALFORMED, message)


# The readers below take the whole message as ``bytes`` and an offset and return what they read with
# the offset after it, instead of keeping a reader object whose methods cost an attribute lookup and
# a call per read; the common forms are handled inline. A ``bytes`` slice is the decoded value
# itself, so each byte of content is copied once.


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The QUIC varint at ``pos`` (any of its encodings)."""
    if pos + 1 < len(data):
        # Every status code and most content lengths take two bytes: read them without the call
        # to read_varint_at, which handles all other forms and the errors.
        first = data[pos]
        if first < 0x40:
            return first, pos + 1
        if first < 0x80:
            return (first & 0x3F) << 8 | data[pos + 1], pos + 2
    return read_varint_at(data, pos, _MALFORMED)


def _prefixed(data: bytes, pos: int) -> tuple[bytes, int]:
    """A varint length at ``pos`` followed by that many bytes, never more than ``data`` holds."""
    if pos < len(data) and data[pos] < 0x40:  # a one-byte length, the usual case: no call
        length = data[pos]
        pos += 1
    else:
        length, pos = _varint(data, pos)
    end = pos + length
    if end > len(data):
        raise _fail(f"need {length} bytes at offset {pos}, got {len(data) - pos}")
    return data[pos:end], end


def _field_lines(
    data: bytes, pos: int, limits: DecodeLimits, section: str, *, terminated: bool
) -> tuple[tuple[Field, ...], int]:
    """Field lines up to a zero name length (``terminated``), or else up to the end of ``data``."""
    fields: list[Field] = []
    end = len(data)
    while terminated or pos < end:
        # The usual line, a name and a value each with a one-byte length and both present in full, is
        # sliced in place. Anything else (0x40 stands for "not such a length") goes to _prefixed,
        # which reads every varint form, finds the terminator and words the errors.
        name_length = data[pos] if pos < end else 0x40
        if name_length == 0 and terminated:  # the terminator in its one-byte form
            return tuple(fields), pos + 1
        value_at = pos + 1 + name_length
        value_length = data[value_at] if 0 < name_length < 0x40 and value_at < end else 0x40
        value_end = value_at + 1 + value_length
        if value_length < 0x40 and value_end <= end:
            name, value, pos = data[pos + 1 : value_at], data[value_at + 1 : value_end], value_end
        else:
            name, pos = _prefixed(data, pos)
            if not name:
                if terminated:
                    break
                raise _fail("field line with an empty name")
            value, pos = _prefixed(data, pos)
        fields.append(new_field(name, value))
        if len(fields) > limits.max_field_lines:
            raise FormatError(
                "bhttp.limit_exceeded",
                f"{section} section has more than {limits.max_field_lines} field lines",
            )
    return tuple(fields), pos


def _field_section(
    data: bytes, pos: int, indeterminate: bool, limits: DecodeLimits, section: str
) -> tuple[tuple[Field, ...], int]:
    if pos < len(data) and data[pos] == 0:  # an empty section (a zero length or the terminator)
        return (), pos + 1
    if indeterminate:
        return _field_lines(data, pos, limits, section, terminated=True)
    # The lines must fill the section exactly. Read from a copy of it, they cannot run past its end;
    # offsets in errors then count from the start of the section.
    body, pos = _prefixed(data, pos)
    fields, _ = _field_lines(body, 0, limits, section, terminated=False)
    return fields, pos


def _content(data: bytes, pos: int, indeterminate: bool) -> tuple[bytes, int]:
    if not indeterminate:
        return _prefixed(data, pos)
    chunks: list[bytes] = []
    while True:
        if pos < len(data) and data[pos] == 0:  # the terminator in its one-byte form: no call
            chunk, pos = b"", pos + 1
        else:
            chunk, pos = _prefixed(data, pos)
        if not chunk:  # a zero length ends the content
            return b"".join(chunks), pos  # a single chunk comes back as it is, not copied
        chunks.append(chunk)


def _tail(
    data: bytes, pos: int, indeterminate: bool, limits: DecodeLimits
) -> tuple[tuple[Field, ...], bytes, tuple[Field, ...]]:
    """Header section, content and trailer section, each of which may be truncated away."""
    end = len(data)
    headers: tuple[Field, ...] = ()
    content = b""
    trailers: tuple[Field, ...] = ()
    if pos < end:
        headers, pos = _field_section(data, pos, indeterminate, limits, "header")
    if pos < end:
        content, pos = _content(data, pos, indeterminate)
    if pos < end:
        trailers, pos = _field_section(data, pos, indeterminate, limits, "trailer")
    # Counting zeros checks the padding where it lies, without copying it out first.
    if data.count(0, pos) != end - pos:
        raise _fail("padding after the message is not all zero bytes")
    return headers, content, trailers


def _begin(data: bytes) -> tuple[bytes, int, int]:
    """``data`` as ``bytes``, its framing indicator and the offset after it.

    Any other buffer is copied once, so that every slice the decoder takes is ``bytes``.
    """
    if type(data) is not bytes:
        data = memoryview(data).tobytes()
    framing, pos = _varint(data, 0)
    if framing > INDETERMINATE_RESPONSE:
        raise _fail(f"framing indicator {framing}, want 0-3")
    return data, framing, pos


def _request(data: bytes, pos: int, framing: int, limits: DecodeLimits) -> Request:
    method, pos = _prefixed(data, pos)
    scheme, pos = _prefixed(data, pos)
    authority, pos = _prefixed(data, pos)
    path, pos = _prefixed(data, pos)
    headers, content, trailers = _tail(data, pos, framing == INDETERMINATE_REQUEST, limits)
    request = new_request(method, scheme, authority, path, headers, content, trailers)
    validate_request(request)
    return request


def _response(data: bytes, pos: int, framing: int, limits: DecodeLimits) -> Response:
    indeterminate = framing == INDETERMINATE_RESPONSE
    interim: list[InformationalResponse] = []
    status, pos = _varint(data, pos)
    while 100 <= status <= 199:
        if len(interim) >= limits.max_informational:
            raise FormatError(
                "bhttp.limit_exceeded", f"more than {limits.max_informational} informational responses"
            )
        # An informational response's header section cannot be truncated: control data follows it.
        fields, pos = _field_section(data, pos, indeterminate, limits, "informational header")
        interim.append(InformationalResponse(status, fields))
        status, pos = _varint(data, pos)
    headers, content, trailers = _tail(data, pos, indeterminate, limits)
    response = new_response(status, headers, content, trailers, tuple(interim))
    validate_response(response)
    return response


def decode_request(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Request:
    """Decode a Binary HTTP request (framing indicator 0 or 2). See the module docstring."""
    data, framing, pos = _begin(data)
    if framing not in (KNOWN_LENGTH_REQUEST, INDETERMINATE_REQUEST):
        raise _fail(f"framing indicator {framing} is a response, want a request (0 or 2)")
    return _request(data, pos, framing, limits)


def decode_response(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Response:
    """Decode a Binary HTTP response (framing indicator 1 or 3). See the module docstring."""
    data, framing, pos = _begin(data)
    if framing not in (KNOWN_LENGTH_RESPONSE, INDETERMINATE_RESPONSE):
        raise _fail(f"framing indicator {framing} is a request, want a response (1 or 3)")
    return _response(data, pos, framing, limits)


def decode_message(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Request | Response:
    """Decode either kind of message, as its framing indicator says."""
    data, framing, pos = _begin(data)
    if framing in (KNOWN_LENGTH_REQUEST, INDETERMINATE_REQUEST):
        return _request(data, pos, framing, limits)
    return _response(data, pos, framing, limits)
