"""Chunked OHTTP streams end to end: a chat request out, server-sent events back, fed in any pieces."""

from __future__ import annotations

import pytest

from attestgw.bhttp import (
    Field,
    Request,
    Response,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    encode_varint,
)
from attestgw.ohttp import ChunkedClientRequest, Server, ServerKey

EVENTS = [b'data: {"choices":[{"delta":{"content":"%d"}}]}\n\n' % i for i in range(50)] + [
    b"data: [DONE]\n\n"
]


def _stream(server: Server, key: ServerKey, piece: int) -> list[bytes]:
    request = Request(
        b"POST",
        b"https",
        b"w",
        b"/v1/chat/completions",
        (Field(b"accept", b"text/event-stream"),),
        b'{"x":1}',
    )
    encoded = encode_request(request, indeterminate=True)
    client = ChunkedClientRequest(key.config)
    body = client.seal_chunk(encoded[:10]) + client.seal_chunk(encoded[10:])
    final, opener = client.seal_final()
    body += final

    reader = server.chunked_request_reader()
    received: list[bytes] = []
    for i in range(0, len(body), piece):
        received += reader.feed(body[i : i + piece])
    last, sealer = reader.finish()
    assert decode_request(b"".join([*received, last])) == request

    # The worker streams an indeterminate-length response: head first, then one chunk per event.
    head = encode_response(Response(200, (Field(b"content-type", b"text/event-stream"),)), indeterminate=True)
    wire = sealer.seal_chunk(head[:-2])  # status + header section, without content and trailers
    for event in EVENTS:
        wire += sealer.seal_chunk(encode_varint(len(event)) + event)  # one Binary HTTP content chunk
    wire += sealer.seal_final(b"\x00\x00")

    out: list[bytes] = []
    for i in range(0, len(wire), piece):
        out += opener.feed(wire[i : i + piece])
    out.append(opener.finish())
    return out


@pytest.mark.parametrize("piece", [1, 7, 100, 1 << 20])
def test_stream_survives_any_transport_chunking(server: Server, server_key: ServerKey, piece: int) -> None:
    out = _stream(server, server_key, piece)
    assert len(out) == 1 + len(EVENTS) + 1  # head, one chunk per event, final
    assert [o[1:] for o in out[1:-1]] == EVENTS
    response = decode_response(b"".join(out))
    assert response.content == b"".join(EVENTS)
    assert response.headers == (Field(b"content-type", b"text/event-stream"),)


def test_post_quantum_stream(xwing_key: ServerKey) -> None:
    server = Server([xwing_key])
    out = _stream(server, xwing_key, 4096)
    assert decode_response(b"".join(out)).content == b"".join(EVENTS)


def test_sixteen_kib_chunks_and_empty_chunks(server: Server, server_key: ServerKey) -> None:
    client = ChunkedClientRequest(server_key.config)
    big = bytes(range(256)) * 64  # 16 KiB, the size the draft requires support for
    body = client.seal_chunk(big)
    assert client.seal_chunk(b"") == b""  # nothing to send: an empty non-final chunk is never sealed
    body += client.seal_chunk(big)
    final, opener = client.seal_final(b"")
    request, sealer = server.open_chunked_request(body + final)
    assert request == big * 2
    response = sealer.seal_chunk(b"") + sealer.seal_chunk(big) + sealer.seal_final(big)
    assert opener.open_all(response) == big * 2
