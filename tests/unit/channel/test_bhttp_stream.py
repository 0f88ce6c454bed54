"""Incremental indeterminate-length Binary HTTP responses: encoder, decoder, and their agreement
with the whole-message codec."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.bhttp import Field, InformationalResponse, Response, decode_response, encode_response
from attestgw.bhttp.stream import (
    ResponseStreamDecoder,
    ResponseStreamEncoder,
    StreamBody,
    StreamEnd,
    StreamHead,
    StreamInterim,
)
from attestgw.errors import FormatError

HEAD = (Field(b"content-type", b"text/event-stream"),)
CHUNKS = [b'data: {"a":1}\n\n', b'data: {"b":2}\n\n', b"data: [DONE]\n\n"]
TRAILERS = (Field(b"attestgw-receipt", b"eyJ2IjoxfQ"),)


def _stream() -> bytes:
    enc = ResponseStreamEncoder()
    out = enc.head(200, HEAD)
    for chunk in CHUNKS:
        out += enc.body(chunk)
    return out + enc.end(TRAILERS)


def test_stream_equals_the_whole_message_encoding() -> None:
    whole = encode_response(Response(200, HEAD, b"".join(CHUNKS), TRAILERS), indeterminate=True)
    decoded = decode_response(_stream())
    assert decoded.content == b"".join(CHUNKS)
    assert decoded.trailers == TRAILERS
    # both are valid indeterminate encodings of the same message (chunking may differ)
    assert decode_response(whole) == decoded


@pytest.mark.parametrize("step", [1, 2, 7, 1000])
def test_decoder_accepts_any_split(step: int) -> None:
    data = _stream()
    dec = ResponseStreamDecoder()
    events = []
    for i in range(0, len(data), step):
        events += dec.feed(data[i : i + step])
    dec.finish()
    assert events[0] == StreamHead(200, HEAD)
    assert [e.data for e in events if isinstance(e, StreamBody)] == CHUNKS
    assert events[-1] == StreamEnd(TRAILERS)


def test_truncated_stream_is_refused_at_finish() -> None:
    data = _stream()
    for cut in (1, len(data) // 2, len(data) - 1):
        dec = ResponseStreamDecoder()
        dec.feed(data[:cut])
        with pytest.raises(FormatError) as err:
            dec.finish()
        assert err.value.code == "bhttp.malformed"


def test_interim_responses_and_padding() -> None:
    interim = InformationalResponse(103, (Field(b"link", b"</a>"),))
    whole = encode_response(
        Response(200, HEAD, b"x", (), informational=(interim,)), indeterminate=True, padding=5
    )
    dec = ResponseStreamDecoder()
    events = dec.feed(whole)
    dec.finish()
    assert isinstance(events[0], StreamInterim)
    assert events[0].status == 103
    assert isinstance(events[1], StreamHead)


def test_non_zero_padding_and_wrong_framing_are_refused() -> None:
    with pytest.raises(FormatError):
        ResponseStreamDecoder().feed(_stream() + b"\x01")
    with pytest.raises(FormatError):
        ResponseStreamDecoder().feed(b"\x01")  # known-length response framing


def test_encoder_enforces_order() -> None:
    enc = ResponseStreamEncoder()
    with pytest.raises(ValueError, match="body"):
        enc.body(b"x")
    enc.head(200)
    assert enc.body(b"") == b""  # an empty chunk would end the content early, so nothing is written
    enc.end()
    with pytest.raises(ValueError, match="end"):
        enc.end()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 50))
def test_decoder_only_raises_format_error(data: bytes, step: int) -> None:
    dec = ResponseStreamDecoder()
    try:
        for i in range(0, len(data), step):
            dec.feed(b"\x03" + data[i : i + step] if i == 0 else data[i : i + step])
        dec.finish()
    except FormatError:
        return
    assert dec.complete
