"""Binary HTTP: what a strict decoder refuses, what truncation and padding it accepts, round trips."""

from __future__ import annotations

import json

import pytest

from attestgw.bhttp import (
    ByteReader,
    DecodeLimits,
    Field,
    InformationalResponse,
    Request,
    Response,
    decode_message,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    encode_varint,
    field_values,
)
from attestgw.errors import FormatError

CHAT = Request(
    b"POST",
    b"https",
    b"worker.internal",
    b"/v1/chat/completions",
    (Field(b"content-type", b"application/json"), Field(b"accept", b"text/event-stream")),
    json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode(),
)


def _code(exc: pytest.ExceptionInfo[FormatError]) -> str:
    return exc.value.code


@pytest.mark.parametrize("indeterminate", [False, True])
@pytest.mark.parametrize("padding", [0, 7])
def test_openai_style_request_round_trips(indeterminate: bool, padding: int) -> None:
    encoded = encode_request(CHAT, indeterminate=indeterminate, padding=padding)
    assert decode_request(encoded) == CHAT
    assert field_values(decode_request(encoded).headers, b"Content-Type") == (b"application/json",)


def test_response_with_interim_and_trailers_round_trips() -> None:
    response = Response(
        200,
        (Field(b"content-type", b"text/event-stream"),),
        b"data: {}\n\n",
        (Field(b"x-receipt", b"abc"),),
        (InformationalResponse(103, (Field(b"link", b"</a>"),)),),
    )
    for indeterminate in (False, True):
        assert decode_response(encode_response(response, indeterminate=indeterminate)) == response


def test_unknown_framing_indicator_is_refused() -> None:
    with pytest.raises(FormatError) as err:
        decode_message(encode_varint(4) + b"\x00" * 8)
    assert _code(err) == "bhttp.malformed"


def test_request_decoder_refuses_a_response_and_vice_versa() -> None:
    with pytest.raises(FormatError, match="response"):
        decode_request(encode_response(Response(200)))
    with pytest.raises(FormatError, match="request"):
        decode_response(encode_request(CHAT))


def test_non_zero_padding_is_refused() -> None:
    with pytest.raises(FormatError) as err:
        decode_request(encode_request(CHAT, padding=3) + b"\x01")
    assert _code(err) == "bhttp.malformed"


def test_truncation_at_section_boundaries_means_empty_sections() -> None:
    full = encode_request(Request(b"GET", b"https", b"a.example", b"/"))
    # framing ‖ control data ‖ headers(0) ‖ content(0) ‖ trailers(0): drop 1, 2 or 3 trailing zeros
    for cut in (1, 2, 3):
        assert decode_request(full[:-cut]) == Request(b"GET", b"https", b"a.example", b"/")


def test_truncation_inside_a_section_is_refused() -> None:
    encoded = encode_request(CHAT)
    # cut 1 drops only the empty trailer section (allowed); every deeper cut lands inside the content
    assert decode_request(encoded[:-1]) == CHAT
    for cut in range(2, 40):
        truncated = encoded[:-cut]
        with pytest.raises(FormatError) as err:
            decode_request(truncated)
        assert err.value.code in ("bhttp.malformed", "bhttp.field_invalid"), cut


def test_truncated_control_data_is_refused() -> None:
    encoded = encode_request(CHAT)
    with pytest.raises(FormatError) as err:
        decode_request(encoded[:5])
    assert _code(err) == "bhttp.malformed"


def test_indeterminate_content_without_terminator_is_refused() -> None:
    encoded = encode_request(CHAT, indeterminate=True)
    # drop trailer terminator and content terminator: the content chunk list is then unterminated
    with pytest.raises(FormatError) as err:
        decode_request(encoded[:-2] + encode_varint(5) + b"ab")
    assert _code(err) == "bhttp.malformed"


def test_known_length_section_must_be_filled_by_whole_field_lines() -> None:
    lines = encode_varint(1) + b"a" + encode_varint(1) + b"b"
    head = b"\x00" + b"".join(encode_varint(len(x)) + x for x in (b"GET", b"https", b"", b"/"))
    assert decode_request(head + encode_varint(len(lines)) + lines).headers == (Field(b"a", b"b"),)
    with pytest.raises(FormatError) as err:
        decode_request(head + encode_varint(len(lines) - 1) + lines)
    assert _code(err) == "bhttp.malformed"


@pytest.mark.parametrize(
    "field",
    [
        Field(b":method", b"GET"),
        Field(b":authority", b"x"),
        Field(b"bad name", b"x"),
        Field(b"", b"x"),
        Field(b"x", b"a\r\nb"),
        Field(b"x", b"a\x00"),
        Field(b"x", b" leading"),
        Field(b"x", b"trailing\t"),
    ],
)
def test_invalid_fields_are_refused_both_ways(field: Field) -> None:
    request = Request(b"GET", b"https", b"a", b"/", (field,))
    with pytest.raises(FormatError) as err:
        encode_request(request)
    assert _code(err) == "bhttp.field_invalid"
    # Hand-encode the same message to check the decoder refuses it too.
    lines = encode_varint(len(field.name)) + field.name + encode_varint(len(field.value)) + field.value
    raw = b"\x00" + b"".join(encode_varint(len(x)) + x for x in (b"GET", b"https", b"a", b"/"))
    raw += encode_varint(len(lines)) + lines
    with pytest.raises(FormatError) as err:
        decode_request(raw)
    assert err.value.code in ("bhttp.field_invalid", "bhttp.malformed")


@pytest.mark.parametrize(
    ("method", "scheme", "authority", "path"),
    [
        (b"", b"https", b"a", b"/"),
        (b"GE T", b"https", b"a", b"/"),
        (b"GET", b"", b"a", b"/"),
        (b"GET", b"1http", b"a", b"/"),
        (b"GET", b"https", b"user@a", b"/"),
        (b"GET", b"https", b"a b", b"/"),
        (b"GET", b"https", b"a", b""),
        (b"GET", b"https", b"a", b"/a b"),
    ],
)
def test_invalid_control_data_is_refused(method: bytes, scheme: bytes, authority: bytes, path: bytes) -> None:
    with pytest.raises(FormatError) as err:
        encode_request(Request(method, scheme, authority, path))
    assert _code(err) == "bhttp.field_invalid"


@pytest.mark.parametrize("status", [99, 600, 1000, 0])
def test_final_status_out_of_range_is_refused(status: int) -> None:
    raw = b"\x01" + encode_varint(status) + b"\x00\x00\x00"
    with pytest.raises(FormatError):
        decode_response(raw)


def test_field_line_limit() -> None:
    fields = tuple(Field(b"x-%d" % i, b"v") for i in range(10))
    encoded = encode_request(Request(b"GET", b"https", b"a", b"/", fields))
    assert len(decode_request(encoded, limits=DecodeLimits(max_field_lines=10)).headers) == 10
    with pytest.raises(FormatError) as err:
        decode_request(encoded, limits=DecodeLimits(max_field_lines=9))
    assert _code(err) == "bhttp.limit_exceeded"


def test_informational_response_limit() -> None:
    response = Response(200, informational=tuple(InformationalResponse(103) for _ in range(3)))
    encoded = encode_response(response)
    assert decode_response(encoded, limits=DecodeLimits(max_informational=3)) == response
    with pytest.raises(FormatError) as err:
        decode_response(encoded, limits=DecodeLimits(max_informational=2))
    assert _code(err) == "bhttp.limit_exceeded"


def test_huge_declared_length_does_not_allocate() -> None:
    raw = b"\x00" + b"\xc0" + b"\xff" * 7 + b"GET"  # method length 2^62-1 with 3 bytes present
    with pytest.raises(FormatError) as err:
        decode_request(raw)
    assert _code(err) == "bhttp.malformed"


@pytest.mark.parametrize(
    ("value", "encoding"),
    [(0, "00"), (63, "3f"), (64, "4040"), (16383, "7fff"), (16384, "80004000"), (2**30, "c000000040000000")],
)
def test_varint_minimal_encoding_and_decoding(value: int, encoding: str) -> None:
    assert encode_varint(value).hex() == encoding
    assert ByteReader(bytes.fromhex(encoding), "bhttp.malformed").read_varint() == value


def test_varint_non_minimal_forms_decode() -> None:
    for raw in ("4025", "80000025", "c000000000000025"):
        assert ByteReader(bytes.fromhex(raw), "bhttp.malformed").read_varint() == 0x25


def test_varint_out_of_range_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="range"):
        encode_varint(2**62)
