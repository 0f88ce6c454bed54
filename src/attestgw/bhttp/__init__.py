"""Binary HTTP (RFC 9292, ``message/bhttp``), layer L1: pure, no crypto library, no I/O.

The sealed channel carries ordinary HTTP requests and responses encoded with this format inside
Oblivious HTTP. :func:`decode_request` / :func:`decode_response` are strict and bounded (see
:mod:`attestgw.bhttp.decode`); :func:`encode_request` / :func:`encode_response` write known-length
or indeterminate-length messages. QUIC varints and the bounded :class:`ByteReader` are shared with
chunked OHTTP framing.
"""

from __future__ import annotations

from attestgw.bhttp.decode import (
    DEFAULT_LIMITS,
    INDETERMINATE_REQUEST,
    INDETERMINATE_RESPONSE,
    KNOWN_LENGTH_REQUEST,
    KNOWN_LENGTH_RESPONSE,
    DecodeLimits,
    decode_message,
    decode_request,
    decode_response,
)
from attestgw.bhttp.encode import encode_request, encode_response
from attestgw.bhttp.message import (
    Field,
    InformationalResponse,
    Request,
    Response,
    field_values,
    validate_request,
    validate_response,
)
from attestgw.bhttp.varint import MAX_VARINT, ByteReader, encode_varint, varint_size

__all__ = [
    "DEFAULT_LIMITS",
    "INDETERMINATE_REQUEST",
    "INDETERMINATE_RESPONSE",
    "KNOWN_LENGTH_REQUEST",
    "KNOWN_LENGTH_RESPONSE",
    "MAX_VARINT",
    "ByteReader",
    "DecodeLimits",
    "Field",
    "InformationalResponse",
    "Request",
    "Response",
    "decode_message",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "encode_varint",
    "field_values",
    "validate_request",
    "validate_response",
    "varint_size",
]
