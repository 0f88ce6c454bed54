"""The sans-I/O core of the transports: HTTP request → sealed bytes, sealed bytes → checked response.

Both transports (sync and async) move bytes only; everything they decide happens here:

* :func:`inner_request` encodes the caller's request as a known-length Binary HTTP request
  (scheme ``https``, the request's authority and path, its header fields without hop-by-hop ones,
  a ``date`` field for the worker's replay horizon, RFC 9458 §6.5);
* :func:`seal` seals it to the session's key config: one-shot OHTTP (``/ohttp``), or chunked OHTTP
  (``/ohttp-chunked``) when the JSON body asks for ``"stream": true``;
* :func:`open_one_shot` opens and decodes a one-shot response and checks its receipt;
* :class:`StreamOpener` opens a chunked response as it arrives, decodes the indeterminate-length
  Binary HTTP response incrementally, hands out body chunks, and at the end requires the final
  chunk (``ohttp.truncated`` otherwise) and checks the trailer's receipt before releasing the
  body bytes of the final chunk.

Not done here: retries and re-attestation (the transports), and any interpretation of the inner
status (errors of the inner API travel sealed and are returned as ordinary responses).
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from attestgw.bhttp import Field, Request, decode_response, encode_request, field_values
from attestgw.bhttp.stream import ResponseStreamDecoder, StreamBody, StreamEnd, StreamHead
from attestgw.client.receipts import RECEIPT_FIELD, check_receipt
from attestgw.client.session import AttestedSession
from attestgw.errors import FormatError
from attestgw.ohttp import (
    MEDIA_TYPE_CHUNKED_REQUEST,
    MEDIA_TYPE_CHUNKED_RESPONSE,
    MEDIA_TYPE_REQUEST,
    MEDIA_TYPE_RESPONSE,
    ChunkedClientRequest,
    ChunkedResponseOpener,
    ClientRequest,
    ClientResponseOpener,
)
from attestgw.receipt import Receipt

__all__ = [
    "KEY_CONFIG_HEADER",
    "OpenedResponse",
    "SealedRequest",
    "StreamOpener",
    "inner_request",
    "open_one_shot",
    "seal",
    "wants_stream",
]

#: The outer header naming the attested key config (SHA-256 hex of the ohttp_keys bytes).
KEY_CONFIG_HEADER = "attestgw-key-config"

#: Connection-specific fields (RFC 9110 §7.6.1) and ones the Binary HTTP framing replaces.
_DROPPED = frozenset(
    {
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"upgrade",
        b"te",
        b"trailer",
        b"accept-encoding",  # the sealed response is not compressed; the receipt covers the bytes sent
    }
)


@dataclass(frozen=True, slots=True)
class SealedRequest:
    """What to POST (``url``, ``content_type``, ``body``) and what the receipt must name.

    ``key_config_sha256`` names the attested ``application/ohttp-keys`` body the request was sealed
    to; the transports send it as :data:`KEY_CONFIG_HEADER` so a gateway routes the request to the
    worker that holds that key (sticky routing; workers ignore it).
    """

    url: str
    content_type: str
    accept: str
    body: bytes
    request_sha256: str
    streaming: bool
    key_id: int
    key_config_sha256: str = ""

    def outer_headers(self, auth: dict[str, str]) -> dict[str, str]:
        """The outer request's header fields: media types, the attested key config, the bearer token."""
        headers = {"content-type": self.content_type, "accept": self.accept, **auth}
        if self.key_config_sha256:
            headers[KEY_CONFIG_HEADER] = self.key_config_sha256
        return headers


@dataclass(frozen=True, slots=True)
class OpenedResponse:
    """A one-shot response, opened, decoded and with its receipt verified."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    content: bytes
    receipt: Receipt


def wants_stream(request: httpx.Request, content: bytes) -> bool:
    """Whether the request is a JSON body with ``"stream": true`` (the OpenAI streaming switch)."""
    if request.method != "POST" or b"json" not in request.headers.get("content-type", "").encode("latin-1"):
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> bytes:
    """RFC 9110 ``Date`` of ``second``: formatted once per second, not once per sealed request."""
    return email.utils.formatdate(second, usegmt=True).encode("ascii")


def inner_request(request: httpx.Request, content: bytes) -> bytes:
    """The known-length Binary HTTP encoding of ``request`` (see module docstring)."""
    fields = [
        Field(lower, value) for name, value in request.headers.raw if (lower := name.lower()) not in _DROPPED
    ]
    if not any(f.name == b"date" for f in fields):
        fields.append(Field(b"date", _http_date(int(time.time()))))
    path = request.url.raw_path or b"/"
    inner = Request(
        method=request.method.encode("ascii"),
        scheme=b"https",
        authority=request.url.netloc,
        path=path,
        headers=tuple(fields),
        content=content,
    )
    return encode_request(inner)


@functools.lru_cache(maxsize=64)
def _route(url: str, model_id: str, route: str) -> str:
    return f"{url}/v1/models/{quote(model_id, safe='')}/{route}"


@functools.lru_cache(maxsize=64)
def _sha256_hex(data: bytes) -> str:
    # the attested key-config bytes of a session: the same few values on every request
    return hashlib.sha256(data).hexdigest()


def seal(
    session: AttestedSession, bhttp_request: bytes, *, streaming: bool
) -> tuple[SealedRequest, ClientResponseOpener | ChunkedResponseOpener]:
    """Seal ``bhttp_request`` to the session's key config; the opener works once, for this request."""
    digest = hashlib.sha256(bhttp_request).hexdigest()
    key_id = session.key_config.key_id
    if streaming:
        chunked = ChunkedClientRequest(session.key_config)
        # one final chunk: the request is small and complete; the response is what streams
        body, chunked_opener = chunked.seal_final(bhttp_request)
        sealed = SealedRequest(
            _route(session.url, session.model_id, "ohttp-chunked"),
            MEDIA_TYPE_CHUNKED_REQUEST,
            MEDIA_TYPE_CHUNKED_RESPONSE,
            body,
            digest,
            True,
            key_id,
            _sha256_hex(session.ohttp_keys),
        )
        return sealed, chunked_opener
    body, opener = ClientRequest(session.key_config).seal(bhttp_request)
    sealed = SealedRequest(
        _route(session.url, session.model_id, "ohttp"),
        MEDIA_TYPE_REQUEST,
        MEDIA_TYPE_RESPONSE,
        body,
        digest,
        False,
        key_id,
        _sha256_hex(session.ohttp_keys),
    )
    return sealed, opener


def _one_receipt(fields: Iterable[Field]) -> bytes | None:
    values = field_values(tuple(fields), RECEIPT_FIELD)
    if len(values) > 1:
        raise FormatError("receipt.malformed", f"{len(values)} attestgw-receipt fields, want one")
    return values[0] if values else None


def _pairs(fields: Iterable[Field]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((f.name, f.value) for f in fields)


def open_one_shot(
    opener: ClientResponseOpener, body: bytes, session: AttestedSession, sealed: SealedRequest
) -> OpenedResponse:
    """Open, decode (known-length Binary HTTP) and check the receipt of a one-shot response."""
    response = decode_response(opener.open(body))
    receipt = check_receipt(
        _one_receipt(response.headers),
        session,
        request_sha256=sealed.request_sha256,
        response_sha256=hashlib.sha256(response.content).hexdigest(),
    )
    return OpenedResponse(response.status, _pairs(response.headers), response.content, receipt)


def _ends_event_stream(piece: bytes) -> bool:
    """Whether ``piece`` holds an SSE ``data: [DONE]`` line, the end marker of OpenAI streams."""
    for line in piece.splitlines():
        if line.startswith(b"data:") and line[5:].lstrip(b" ").startswith(b"[DONE]"):
            return True
    return False


class StreamOpener:
    """Opens one chunked response incrementally. ``feed`` …, then ``finish`` once the bytes end.

    ``head`` is set as soon as the inner status and header fields have arrived. Body chunks of
    non-final OHTTP chunks are returned by ``feed`` as they authenticate; the final chunk's body
    bytes are returned by ``finish`` only after the receipt verified.

    One exception, because consumers stop reading at a sentinel rather than at the end of the body:
    in a ``text/event-stream`` response, a chunk carrying ``data: [DONE]`` (OpenAI's end marker; the
    ``openai`` client stops at it and closes the response) is held back and released by ``finish``,
    so nobody sees the stream "complete" before the final chunk arrived and the receipt verified.
    Every other event is released as soon as it authenticates: no token waits for the next one.
    """

    __slots__ = (
        "_decoder",
        "_digest",
        "_held",
        "_opener",
        "_session",
        "_sse",
        "_trailers",
        "head",
        "receipt",
        "sealed",
    )

    def __init__(
        self, opener: ChunkedResponseOpener, session: AttestedSession, sealed: SealedRequest
    ) -> None:
        self._opener = opener
        self._session = session
        self.sealed = sealed
        self._decoder = ResponseStreamDecoder()
        self._digest = hashlib.sha256()
        self._trailers: tuple[Field, ...] | None = None
        self._held: list[bytes] = []
        self._sse = False
        self.head: StreamHead | None = None
        self.receipt: Receipt | None = None

    def _events(self, plaintext: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in self._decoder.feed(plaintext):
            if isinstance(event, StreamHead):
                self.head = event
                media = b"".join(field_values(event.fields, b"content-type")[:1])
                self._sse = media.split(b";")[0].strip().lower() == b"text/event-stream"
            elif isinstance(event, StreamBody):
                self._digest.update(event.data)
                if self._held or (self._sse and _ends_event_stream(event.data)):
                    self._held.append(event.data)  # keep order: nothing overtakes a held piece
                else:
                    out.append(event.data)
            elif isinstance(event, StreamEnd):
                self._trailers = event.trailers
            # interim (1xx) responses carry nothing the caller needs
        return out

    def feed(self, data: bytes) -> list[bytes]:
        """Body chunks completed by ``data`` (``ohttp.chunk_invalid`` / ``bhttp.*`` on bad bytes)."""
        out: list[bytes] = []
        for plaintext in self._opener.feed(data):
            out += self._events(plaintext)
        return out

    def finish(self) -> list[bytes]:
        """At end of stream: the final chunk's body chunks, once the stream is complete and the
        receipt verified. ``ohttp.truncated`` if the final chunk never came."""
        tail = self._events(self._opener.finish())
        self._decoder.finish()
        if self.head is None or self._trailers is None:  # pragma: no cover - decoder.finish refused it
            raise FormatError("bhttp.malformed", "the response stream has no head or no trailers")
        self.receipt = check_receipt(
            _one_receipt(self._trailers),
            self._session,
            request_sha256=self.sealed.request_sha256,
            response_sha256=self._digest.hexdigest(),
        )
        held, self._held = self._held, []
        return held + tail

    def head_pairs(self) -> tuple[int, tuple[tuple[bytes, bytes], ...]]:
        """The inner status and header fields (call once ``head`` is set)."""
        if self.head is None:
            raise FormatError("bhttp.malformed", "the response stream ended before its head")
        return self.head.status, _pairs(self.head.fields)
