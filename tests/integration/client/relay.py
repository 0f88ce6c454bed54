"""A real relay on loopback between the client and the worker that can misbehave on purpose.

It forwards every request to the worker (streaming answers through as they arrive) unless ``mode``
says otherwise. Each mode is one attack a relay — which sees only ciphertext — could mount:

* ``swap_keys``: replace the bundle's ``ohttp_keys`` with the relay's own key config (to read
  prompts sealed to it);
* ``replay``: remember the first sealed request and send it again in place of every later one;
* ``tamper_request`` / ``tamper_response``: flip one bit of a one-shot request / response;
* ``key_id``: change the key id byte of every sealed request;
* ``tamper_chunk``: flip one bit inside the last non-final chunk of a chunked response;
* ``drop_final``: cut a chunked response just before its final chunk.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from attestgw.ohttp import ServerKey, encode_key_configs
from tests.routes import route_of

#: Response nonce size of the default suite (X25519, HKDF-SHA256, AES-128-GCM): max(Nn, Nk) = 16.
NONCE = 16


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    size = 1 << (data[pos] >> 6)
    value = data[pos] & 0x3F
    for b in data[pos + 1 : pos + size]:
        value = value << 8 | b
    return value, pos + size


def chunk_spans(body: bytes) -> tuple[list[tuple[int, int]], int]:
    """Byte spans of the non-final chunks' ciphertexts and the offset where the final chunk starts."""
    spans, pos = [], NONCE
    while True:
        length, start = _varint(body, pos)
        if length == 0:
            return spans, pos
        spans.append((start, start + length))
        pos = start + length


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


class Relay:
    """ASGI app forwarding to ``target``. Set ``mode`` (see module docstring); ``None`` passes through."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.mode: str | None = None
        self.saved: bytes | None = None
        self.attacker_keys = encode_key_configs([ServerKey.generate(1).config])
        self._client: httpx.AsyncClient | None = None
        #: the Authorization header of every request relayed (``None`` when absent), in order
        self.authorizations: list[str | None] = []

    def reset(self) -> None:
        self.mode, self.saved = None, None
        self.authorizations = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=120)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = route_of(scope["path"])
        auth = [v.decode() for k, v in scope["headers"] if k == b"authorization"]
        self.authorizations.append(auth[0] if auth else None)
        body = self._request(path, body)
        url = self.target + path + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in (b"content-type", b"accept")}
        request = self._client.build_request(scope["method"], url, headers=headers, content=body)
        upstream = await self._client.send(request, stream=True)
        try:
            start = {
                "type": "http.response.start",
                "status": upstream.status_code,
                "headers": [(b"content-type", upstream.headers.get("content-type", "").encode())],
            }
            if self.mode is None or upstream.status_code != 200:
                await send(start)
                async for piece in upstream.aiter_raw():
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            answer = self._response(path, await upstream.aread())
            await send(start)
            await send({"type": "http.response.body", "body": answer})
        finally:
            await upstream.aclose()

    def _request(self, path: str, body: bytes) -> bytes:
        sealed = path in ("/ohttp", "/ohttp-chunked")
        if self.mode == "replay" and path == "/ohttp":
            if self.saved is None:
                self.saved = body
            return self.saved
        if self.mode == "tamper_request" and path == "/ohttp":
            return _flip(body, len(body) - 1)
        if self.mode == "key_id" and sealed:
            return bytes([(body[0] + 1) % 256]) + body[1:]
        return body

    def _response(self, path: str, body: bytes) -> bytes:
        if self.mode == "swap_keys" and path == "/attestation":
            bundle = json.loads(body)
            bundle["ohttp_keys"] = base64.b64encode(self.attacker_keys).decode()
            return json.dumps(bundle).encode()
        if self.mode == "tamper_response" and path == "/ohttp":
            return _flip(body, len(body) - 1)
        if path == "/ohttp-chunked" and self.mode in ("tamper_chunk", "drop_final"):
            spans, final = chunk_spans(body)
            if self.mode == "drop_final":
                return body[:final]
            start, end = spans[-1]
            return _flip(body, (start + end) // 2)
        return body
