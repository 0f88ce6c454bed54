"""Encode Binary HTTP (RFC 9292 §3): known-length or indeterminate-length, with optional padding.

The encoder validates the message first (the same rules the decoder applies, see
:mod:`attestgw.bhttp.message`), so it never produces a message a strict peer would refuse. It always
writes every section (no truncation) and minimal varints; indeterminate-length content is written as
one chunk (none when empty). ``padding`` appends that many zero bytes (RFC 9292 §3.8), which a
sender can use to hide the length of a message inside an encrypted channel.
"""

from __future__ import annotations

from collections.abc import Iterable

from attestgw.bhttp.decode import (
    INDETERMINATE_REQUEST,
    INDETERMINATE_RESPONSE,
    KNOWN_LENGTH_REQUEST,
    KNOWN_LENGTH_RESPONSE,
)
from attestgw.bhttp.message import Field, Request, Response, validate_request, validate_response
from attestgw.bhttp.varint import encode_varint

__all__ = ["encode_request", "encode_response"]


# Every part of the message is appended to one list of ``bytes`` that is joined once at the end, so
# the content (the only large part) is copied once, into the result.

#: The encoded framing indicators, by value.
_FRAMING = tuple(encode_varint(framing) for framing in range(INDETERMINATE_RESPONSE + 1))


def _put_prefixed(out: list[bytes], data: bytes) -> None:
    out += (encode_varint(len(data)), data)


def _put_section(out: list[bytes], fields: Iterable[Field], indeterminate: bool) -> None:
    if not fields:  # either framing writes an empty section as one zero byte (length or terminator)
        out.append(b"\x00")
        return
    lines: list[bytes] = []
    for f in fields:
        lines += (encode_varint(len(f.name)), f.name, encode_varint(len(f.value)), f.value)
    if indeterminate:
        out += lines
        out.append(b"\x00")
    else:
        _put_prefixed(out, b"".join(lines))


def _put_content(out: list[bytes], content: bytes, indeterminate: bool) -> None:
    if not indeterminate:
        _put_prefixed(out, content)
        return
    if content:  # an empty chunk would be the terminator
        _put_prefixed(out, content)
    out.append(b"\x00")


def _put_tail(out: list[bytes], message: Request | Response, indeterminate: bool, padding: int) -> None:
    """Header section, content, trailer section (never truncated) and the zero padding."""
    _put_section(out, message.headers, indeterminate)
    _put_content(out, message.content, indeterminate)
    _put_section(out, message.trailers, indeterminate)
    if padding:
        out.append(bytes(padding))


def _check_padding(padding: int) -> None:
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")


def encode_request(request: Request, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """Binary HTTP encoding of ``request``; raises ``FormatError("bhttp.field_invalid")`` if invalid."""
    validate_request(request)
    _check_padding(padding)
    out = [_FRAMING[INDETERMINATE_REQUEST if indeterminate else KNOWN_LENGTH_REQUEST]]
    for part in (request.method, request.scheme, request.authority, request.path):
        out += (encode_varint(len(part)), part)  # _put_prefixed, without a call per part
    _put_tail(out, request, indeterminate, padding)
    return b"".join(out)


def encode_response(response: Response, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """Binary HTTP encoding of ``response``; raises ``FormatError("bhttp.field_invalid")`` if invalid."""
    validate_response(response)
    _check_padding(padding)
    out = [_FRAMING[INDETERMINATE_RESPONSE if indeterminate else KNOWN_LENGTH_RESPONSE]]
    for interim in response.informational:
        out.append(encode_varint(interim.status))
        _put_section(out, interim.headers, indeterminate)
    out.append(encode_varint(response.status))
    _put_tail(out, response, indeterminate, padding)
    return b"".join(out)
