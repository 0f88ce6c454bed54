"""The client half of the sealed channel, built from the sans-I/O primitives, for the worker tests.

The SDK (attestgw.client) does this for users; these tests drive the worker with the primitives
directly so that a worker bug cannot hide behind a client bug.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from attestgw.bhttp import Field, Request, encode_request, field_values
from attestgw.bhttp.stream import ResponseStreamDecoder, StreamBody, StreamEnd, StreamEvent, StreamHead
from attestgw.ohttp import (
    MEDIA_TYPE_CHUNKED_REQUEST,
    MEDIA_TYPE_REQUEST,
    ChunkedClientRequest,
    ClientRequest,
    ClientResponseOpener,
    KeyConfig,
)
from attestgw.receipt import Receipt, decode_receipt
from attestgw.worker import RECEIPT_FIELD


def inner_request(
    body: dict[str, Any] | None = None,
    *,
    path: bytes = b"/v1/chat/completions",
    method: bytes = b"POST",
    headers: Sequence[Field] = (),
) -> bytes:
    """A known-length Binary HTTP request for the inner API."""
    content = b"" if body is None else json.dumps(body).encode()
    fields = (Field(b"content-type", b"application/json"), *headers) if body is not None else tuple(headers)
    return encode_request(Request(method, b"https", b"worker.example", path, fields, content))


def chat(model: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], "stream": stream}


def post_sealed(
    client: httpx.Client, url: str, config: KeyConfig, plaintext: bytes
) -> tuple[httpx.Response, ClientResponseOpener, bytes]:
    sealed, opener = ClientRequest(config).seal(plaintext)
    response = client.post(url + "/ohttp", content=sealed, headers={"content-type": MEDIA_TYPE_REQUEST})
    return response, opener, sealed


@dataclass
class Streamed:
    """What a chunked exchange produced, event by event."""

    events: list[StreamEvent] = field(default_factory=list)

    @property
    def head(self) -> StreamHead:
        heads = [e for e in self.events if isinstance(e, StreamHead)]
        assert len(heads) == 1
        return heads[0]

    @property
    def bodies(self) -> list[bytes]:
        return [e.data for e in self.events if isinstance(e, StreamBody)]

    @property
    def end(self) -> StreamEnd:
        ends = [e for e in self.events if isinstance(e, StreamEnd)]
        assert len(ends) == 1
        return ends[0]


def chunked_wire(config: KeyConfig, plaintext: bytes) -> tuple[bytes, Any]:
    request = ChunkedClientRequest(config)
    # Split the request over two chunks, as a streaming client would.
    wire = request.seal_chunk(plaintext[: len(plaintext) // 2]) + request.seal_chunk(
        plaintext[len(plaintext) // 2 :]
    )
    final, opener = request.seal_final(b"")
    return wire + final, opener


def post_chunked(
    client: httpx.Client,
    url: str,
    config: KeyConfig,
    plaintext: bytes,
    *,
    on_event: Callable[[StreamEvent], None] | None = None,
    wire: tuple[bytes, Any] | None = None,
) -> Streamed:
    """POST a chunked request and open the streamed response as it arrives (raises on refusal)."""
    body, opener = wire if wire is not None else chunked_wire(config, plaintext)
    out = Streamed()
    decoder = ResponseStreamDecoder()

    def take(plain: bytes) -> None:
        for event in decoder.feed(plain):
            out.events.append(event)
            if on_event is not None:
                on_event(event)

    with client.stream(
        "POST", url + "/ohttp-chunked", content=body, headers={"content-type": MEDIA_TYPE_CHUNKED_REQUEST}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "message/ohttp-chunked-res"
        for raw in response.iter_raw():
            for plain in opener.feed(raw):
                take(plain)
        take(opener.finish())
    decoder.finish()
    return out


def receipt_in(fields: Sequence[Field]) -> Receipt:
    values = field_values(fields, RECEIPT_FIELD)
    assert len(values) == 1, "exactly one receipt"
    return decode_receipt(values[0])


def receipt_key(bundle: dict[str, Any], alg: str = "Ed25519") -> bytes:
    assert bundle["receipt_key"]["alg"] == alg
    return base64.b64decode(bundle["receipt_key"]["spki"])


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body, dict)
    return body
