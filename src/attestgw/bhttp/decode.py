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
    validate_request,
    validate_response,
)
from attestgw.bhttp.varint import ByteReader
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


class _Decoder:
    __slots__ = ("_indeterminate", "_limits", "_r")

    def __init__(self, reader: ByteReader, indeterminate: bool, limits: DecodeLimits) -> None:
        self._r = reader
        self._indeterminate = indeterminate
        self._limits = limits

    def field_line(self, reader: ByteReader, name_length: int) -> Field:
        if name_length == 0:
            raise reader.fail("field line with an empty name")
        name = reader.read(name_length)
        return Field(name, reader.read_prefixed())

    def field_section(self, section: str) -> tuple[Field, ...]:
        fields: list[Field] = []
        if self._indeterminate:
            while (name_length := self._r.read_varint()) != 0:
                fields.append(self.field_line(self._r, name_length))
                self._check_count(fields, section)
        else:
            body = ByteReader(self._r.read_prefixed(), _MALFORMED)
            while not body.at_end():
                fields.append(self.field_line(body, body.read_varint()))
                self._check_count(fields, section)
        return tuple(fields)

    def _check_count(self, fields: list[Field], section: str) -> None:
        if len(fields) > self._limits.max_field_lines:
            raise FormatError(
                "bhttp.limit_exceeded",
                f"{section} section has more than {self._limits.max_field_lines} field lines",
            )

    def content(self) -> bytes:
        if not self._indeterminate:
            return self._r.read_prefixed()
        chunks: list[bytes] = []
        while (length := self._r.read_varint()) != 0:
            chunks.append(self._r.read(length))
        return b"".join(chunks)

    def tail(self) -> tuple[tuple[Field, ...], bytes, tuple[Field, ...]]:
        """Header section, content and trailer section, each of which may be truncated away."""
        headers: tuple[Field, ...] = ()
        content = b""
        trailers: tuple[Field, ...] = ()
        if not self._r.at_end():
            headers = self.field_section("header")
        if not self._r.at_end():
            content = self.content()
        if not self._r.at_end():
            trailers = self.field_section("trailer")
        padding = self._r.rest()
        if padding.strip(b"\x00"):
            raise FormatError(_MALFORMED, "padding after the message is not all zero bytes")
        return headers, content, trailers


def _framing(reader: ByteReader) -> int:
    framing = reader.read_varint()
    if framing > INDETERMINATE_RESPONSE:
        raise reader.fail(f"framing indicator {framing}, want 0-3")
    return framing


def _request(reader: ByteReader, framing: int, limits: DecodeLimits) -> Request:
    method = reader.read_prefixed()
    scheme = reader.read_prefixed()
    authority = reader.read_prefixed()
    path = reader.read_prefixed()
    headers, content, trailers = _Decoder(reader, framing == INDETERMINATE_REQUEST, limits).tail()
    request = Request(method, scheme, authority, path, headers, content, trailers)
    validate_request(request)
    return request


def _response(reader: ByteReader, framing: int, limits: DecodeLimits) -> Response:
    decoder = _Decoder(reader, framing == INDETERMINATE_RESPONSE, limits)
    interim: list[InformationalResponse] = []
    status = reader.read_varint()
    while 100 <= status <= 199:
        if len(interim) >= limits.max_informational:
            raise FormatError(
                "bhttp.limit_exceeded", f"more than {limits.max_informational} informational responses"
            )
        # An informational response's header section cannot be truncated: control data follows it.
        interim.append(InformationalResponse(status, decoder.field_section("informational header")))
        status = reader.read_varint()
    headers, content, trailers = decoder.tail()
    response = Response(status, headers, content, trailers, tuple(interim))
    validate_response(response)
    return response


def decode_request(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Request:
    """Decode a Binary HTTP request (framing indicator 0 or 2). See the module docstring."""
    reader = ByteReader(data, _MALFORMED)
    framing = _framing(reader)
    if framing not in (KNOWN_LENGTH_REQUEST, INDETERMINATE_REQUEST):
        raise reader.fail(f"framing indicator {framing} is a response, want a request (0 or 2)")
    return _request(reader, framing, limits)


def decode_response(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Response:
    """Decode a Binary HTTP response (framing indicator 1 or 3). See the module docstring."""
    reader = ByteReader(data, _MALFORMED)
    framing = _framing(reader)
    if framing not in (KNOWN_LENGTH_RESPONSE, INDETERMINATE_RESPONSE):
        raise reader.fail(f"framing indicator {framing} is a request, want a response (1 or 3)")
    return _response(reader, framing, limits)


def decode_message(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Request | Response:
    """Decode either kind of message, as its framing indicator says."""
    reader = ByteReader(data, _MALFORMED)
    framing = _framing(reader)
    if framing in (KNOWN_LENGTH_REQUEST, INDETERMINATE_REQUEST):
        return _request(reader, framing, limits)
    return _response(reader, framing, limits)
