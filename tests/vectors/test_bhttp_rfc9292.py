"""RFC 9292 §5 examples: each binary decodes to the message its HTTP/1.1 text shows, and re-encodes
byte for byte with the same framing and padding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from attestgw.bhttp import (
    Field,
    InformationalResponse,
    Request,
    Response,
    decode_message,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

H = bytes.fromhex

_HEADERS = (
    Field(b"user-agent", b"curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"),
    Field(b"host", b"www.example.com"),
    Field(b"accept-language", b"en, mi"),
)
_REQUEST = Request(b"GET", b"https", b"", b"/hello.txt", _HEADERS)


@pytest.fixture(scope="module")
def examples() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(corpus_file("ohttp/rfc9292-bhttp-examples.json").read_text())
    return data


def _http1_fields(text: str, start_line: str) -> list[tuple[bytes, bytes]]:
    """Header lines (names lowercased) of the HTTP/1.1 message head that begins with ``start_line``."""
    (head,) = [h for h in text.split("\r\n\r\n") if h.startswith(start_line)]
    lines = head.split("\r\n")[1:]
    return [
        (n.strip().lower().encode(), val.strip().encode()) for n, val in (ln.split(":", 1) for ln in lines)
    ]


def test_known_length_request(examples: dict[str, Any]) -> None:
    raw = H(examples["binary"]["ex-bink-request"])
    assert decode_request(raw) == _REQUEST
    assert encode_request(_REQUEST) == raw
    # RFC 9292 §5.1: the last two bytes (empty content and trailers) may be truncated away.
    assert decode_request(raw[:-2]) == _REQUEST


def test_indeterminate_length_request_with_padding(examples: dict[str, Any]) -> None:
    raw = H(examples["binary"]["ex-bini-request"])
    assert decode_request(raw) == _REQUEST
    assert encode_request(_REQUEST, indeterminate=True, padding=10) == raw
    text = examples["http_message"]["ex-request"]
    assert [(f.name, f.value) for f in _REQUEST.headers] == _http1_fields(text, "GET /hello.txt")


def test_indeterminate_length_response_with_interim_responses(examples: dict[str, Any]) -> None:
    raw = H(examples["binary"]["ex-bini-response"])
    response = decode_response(raw)
    text = examples["http_message"]["ex-response"]
    assert response.status == 200
    assert [i.status for i in response.informational] == [102, 103]
    assert response.informational[0] == InformationalResponse(102, (Field(b"running", b'"sleep 15"'),))
    assert [(f.name, f.value) for f in response.headers] == _http1_fields(text, "HTTP/1.1 200")
    interim_links = [f.value for f in response.informational[1].headers]
    assert interim_links == [value for _, value in _http1_fields(text, "HTTP/1.1 103")]
    assert response.content == b"Hello World! My content includes a trailing CRLF.\r\n"
    assert len(response.content) == int(dict(_http1_fields(text, "HTTP/1.1 200"))[b"content-length"])
    assert encode_response(response, indeterminate=True) == raw


def test_known_length_response_with_trailer(examples: dict[str, Any]) -> None:
    raw = H(examples["binary"]["ex-bink-chunked"])
    expected = Response(200, (), b"This content contains CRLF.\r\n", (Field(b"trailer", b"text"),))
    assert decode_message(raw) == expected
    assert encode_response(expected) == raw
    # the HTTP/1.1 form's chunks, joined, are the content (chunk extensions are not kept)
    body = examples["http_message"]["ex-chunked"].split("\r\n\r\n", 1)[1]
    pieces = body.split("\r\n")
    assert "".join(pieces[1:6:2]) + "\r\n" == expected.content.decode()
