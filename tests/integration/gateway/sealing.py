"""What a client does through the gateway, in raw bytes (the SDK does not speak the gateway routes yet).

Attest through ``GET /v1/attestation`` with a fresh nonce and decide with the same
``appraise_bundle`` the SDK uses; seal a Binary HTTP request to the attested key config (one-shot or
chunked OHTTP); open what comes back.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
from dataclasses import dataclass

import httpx

from attestgw.appraisal import SnpPolicy
from attestgw.attestation import AppraisedBundle, appraise_bundle, select_key_config
from attestgw.bhttp import Field, Request, decode_response, encode_request
from attestgw.bhttp.stream import ResponseStreamDecoder, StreamBody, StreamEnd, StreamHead
from attestgw.clock import utcnow
from attestgw.ohttp import ChunkedClientRequest, ChunkedResponseOpener, ClientRequest, KeyConfig


@dataclass(frozen=True)
class Attested:
    appraised: AppraisedBundle
    config: KeyConfig

    @property
    def keys_sha256(self) -> str:
        return hashlib.sha256(self.appraised.bundle.ohttp_keys).hexdigest()


def attest(
    client: httpx.Client, gateway: str, token: str, policy: SnpPolicy, model: str = "tiny"
) -> Attested:
    nonce = os.urandom(32)
    response = client.get(
        f"{gateway}/v1/attestation",
        params={"nonce": nonce.hex(), "model": model},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    appraised = appraise_bundle(response.content, nonce, policy, at=utcnow())
    return Attested(appraised, select_key_config(appraised.key_configs))


def inner(method: str, path: str, body: dict[str, object] | None = None) -> bytes:
    fields = [Field(b"date", email.utils.formatdate(usegmt=True).encode())]
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        fields.append(Field(b"content-type", b"application/json"))
    request = Request(method.encode(), b"https", b"worker", path.encode(), tuple(fields), content)
    return encode_request(request)


def chat(prompt: str, *, max_tokens: int = 4, stream: bool = False) -> bytes:
    body: dict[str, object] = {
        "model": "tiny",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
    return inner("POST", "/v1/chat/completions", body)


def sealed_exchange(
    client: httpx.Client, url: str, token: str, attested: Attested, request: bytes, *, pin: bool = True
) -> tuple[int, bytes | None, httpx.Response]:
    """POST one sealed request; ``(inner status, inner content, outer response)`` (None when refused)."""
    body, opener = ClientRequest(attested.config).seal(request)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/ohttp-req"}
    if pin:
        headers["Attestgw-Key-Config"] = attested.keys_sha256
    outer = client.post(url, content=body, headers=headers)
    if outer.status_code != 200:
        return outer.status_code, None, outer
    answer = decode_response(opener.open(outer.content))
    return answer.status, answer.content, outer


class StreamReader:
    """Opens a chunked response piece by piece; ``finish`` raises ``ohttp.truncated`` on a cut stream."""

    def __init__(self, opener: ChunkedResponseOpener) -> None:
        self.opener = opener
        self.decoder = ResponseStreamDecoder()
        self.status: int | None = None
        self.body = b""
        self.ended = False

    def _events(self, plaintext: bytes) -> None:
        for event in self.decoder.feed(plaintext):
            if isinstance(event, StreamHead):
                self.status = event.status
            elif isinstance(event, StreamBody):
                self.body += event.data
            elif isinstance(event, StreamEnd):
                self.ended = True

    def feed(self, data: bytes) -> None:
        for plaintext in self.opener.feed(data):
            self._events(plaintext)

    def finish(self) -> None:
        self._events(self.opener.finish())
        self.decoder.finish()


def seal_chunked(attested: Attested, request: bytes) -> tuple[bytes, StreamReader]:
    sender = ChunkedClientRequest(attested.config)
    half = len(request) // 2
    wire = sender.seal_chunk(request[:half])
    final, opener = sender.seal_final(request[half:])
    return wire + final, StreamReader(opener)
