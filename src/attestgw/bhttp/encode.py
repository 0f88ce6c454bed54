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


def _prefixed(data: bytes) -> bytes:
    return encode_varint(len(data)) + data


def _field_lines(fields: Iterable[Field]) -> bytes:
    return b"".join(_prefixed(f.name) + _prefixed(f.value) for f in fields)


def _section(fields: Iterable[Field], indeterminate: bool) -> bytes:
    lines = _field_lines(fields)
    return lines + b"\x00" if indeterminate else _prefixed(lines)


def _content(content: bytes, indeterminate: bool) -> bytes:
    if not indeterminate:
        return _prefixed(content)
    return (_prefixed(content) if content else b"") + b"\x00"


def _check_padding(padding: int) -> None:
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")


def encode_request(request: Request, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """Binary HTTP encoding of ``request``; raises ``FormatError("bhttp.field_invalid")`` if invalid."""
    validate_request(request)
    _check_padding(padding)
    framing = INDETERMINATE_REQUEST if indeterminate else KNOWN_LENGTH_REQUEST
    return b"".join(
        (
            encode_varint(framing),
            _prefixed(request.method),
            _prefixed(request.scheme),
            _prefixed(request.authority),
            _prefixed(request.path),
            _section(request.headers, indeterminate),
            _content(request.content, indeterminate),
            _section(request.trailers, indeterminate),
            bytes(padding),
        )
    )


def encode_response(response: Response, *, indeterminate: bool = False, padding: int = 0) -> bytes:
    """Binary HTTP encoding of ``response``; raises ``FormatError("bhttp.field_invalid")`` if invalid."""
    validate_response(response)
    _check_padding(padding)
    framing = INDETERMINATE_RESPONSE if indeterminate else KNOWN_LENGTH_RESPONSE
    parts = [encode_varint(framing)]
    for interim in response.informational:
        parts.append(encode_varint(interim.status))
        parts.append(_section(interim.headers, indeterminate))
    parts += [
        encode_varint(response.status),
        _section(response.headers, indeterminate),
        _content(response.content, indeterminate),
        _section(response.trailers, indeterminate),
        bytes(padding),
    ]
    return b"".join(parts)
