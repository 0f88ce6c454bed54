"""Chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp): streamed requests and responses.

Request (§6.1): ``hdr ‖ enc`` as in RFC 9458 but with HPKE info ``"message/bhttp chunked request" ‖
0x00 ‖ hdr``; each chunk ``ctx.Seal("", chunk)``, the last ``ctx.Seal("final", chunk)``; HPKE's
sequence number orders them. Response (§6.2): ``response_nonce`` then chunks sealed with the response
key (export label ``"message/bhttp chunked response"``) and nonce ``aead_nonce XOR counter``,
counter from 0; the last chunk uses AAD ``"final"``.

The four objects, each one-shot in the sense that once finished (or failed) it refuses further use
with ``ohttp.already_used``:

- client: :class:`ChunkedClientRequest` (``seal_chunk`` …, ``seal_final`` → the response opener),
  :class:`ChunkedResponseOpener` (``feed`` …, ``finish``);
- server: :class:`ChunkedRequestReader` (``feed`` …, ``finish`` → the response sealer, made by
  :meth:`attestgw.ohttp.server.Server.chunked_request_reader`), :class:`ChunkedResponseSealer`.

Refusals: a chunk that does not authenticate, a non-final chunk with an empty plaintext or too many
chunks → ``ohttp.chunk_invalid``; a stream that ends without its final chunk (or inside it, before a
whole tag) → ``ohttp.truncated``. Senders never emit empty non-final chunks: sealing an empty
non-final chunk returns ``b""`` (nothing to send), which changes no content.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from attestgw.bhttp import encode_varint
from attestgw.crypto.hpke import RecipientContext, SenderContext, setup_base_sender
from attestgw.errors import AttestgwError, DecryptionError, UsageError
from attestgw.ohttp._once import OneShot
from attestgw.ohttp.chunks import DEFAULT_MAX_CHUNK, ChunkFramer
from attestgw.ohttp.client import choose_suite, header_bytes
from attestgw.ohttp.config import KeyConfig
from attestgw.ohttp.framing import (
    CHUNKED_REQUEST_LABEL,
    CHUNKED_RESPONSE_LABEL,
    FINAL_AAD,
    ResponseKeys,
    request_info,
    response_keys,
    response_nonce_size,
)
from attestgw.ohttp.replay import ReplayWindow

__all__ = [
    "ChunkedClientRequest",
    "ChunkedRequestReader",
    "ChunkedResponseOpener",
    "ChunkedResponseSealer",
]

#: ``(buffer) -> (bytes consumed, enc, context)`` or None while the header is incomplete.
RequestSetup = Callable[[bytes], tuple[int, bytes, RecipientContext] | None]


def _chunk_invalid(message: str) -> DecryptionError:
    return DecryptionError("ohttp.chunk_invalid", message)


class _Stream(OneShot):
    """Shared state of a chunked stream: finished or failed streams refuse further use."""

    __slots__ = ()

    def _guard(self) -> None:
        if self.used:
            raise DecryptionError(
                "ohttp.already_used", f"this {type(self).__name__} already finished or failed"
            )


class ChunkedClientRequest(_Stream):
    """Seals a request chunk by chunk. The first output carries ``hdr ‖ enc``."""

    __slots__ = ("_context", "_enc", "_prefix")

    def __init__(
        self,
        config: KeyConfig,
        *,
        kdf_id: int | None = None,
        aead_id: int | None = None,
        _test_randomness: bytes | None = None,
    ) -> None:
        super().__init__()
        suite = choose_suite(config, kdf_id, aead_id)
        header = header_bytes(config, suite)
        self._enc, self._context = setup_base_sender(
            suite,
            config.public_key,
            request_info(CHUNKED_REQUEST_LABEL, header),
            _test_randomness=_test_randomness,
        )
        self._prefix = header + self._enc

    def __repr__(self) -> str:
        return f"ChunkedClientRequest({self._context.suite!r}, chunks={self._context.seq})"

    def _take_prefix(self) -> bytes:
        prefix, self._prefix = self._prefix, b""
        return prefix

    def seal_chunk(self, plaintext: bytes) -> bytes:
        """A non-final chunk to send (``b""`` for empty ``plaintext``: there is nothing to send)."""
        self._guard()
        if not plaintext:
            return b""
        sealed = self._context.seal(plaintext)
        return self._take_prefix() + encode_varint(len(sealed)) + sealed

    def seal_final(self, plaintext: bytes = b"") -> tuple[bytes, ChunkedResponseOpener]:
        """The final chunk, and the opener for the chunked response."""
        self._consume("ChunkedClientRequest.seal_final")
        sealed = self._context.seal(plaintext, FINAL_AAD)
        return self._take_prefix() + b"\x00" + sealed, ChunkedResponseOpener(self._context, self._enc)


class ChunkedResponseOpener(_Stream):
    """Opens a chunked response as its bytes arrive: ``feed`` …, then ``finish`` at end of stream."""

    __slots__ = ("_context", "_counter", "_enc", "_framer", "_keys", "_pending")

    def __init__(self, context: SenderContext, enc: bytes, *, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        super().__init__()
        self._context = context
        self._enc = enc
        self._keys: ResponseKeys | None = None
        self._pending = b""
        self._framer = ChunkFramer(max_chunk)
        self._counter = 0

    def __repr__(self) -> str:
        return f"ChunkedResponseOpener({self._context.suite!r}, chunks={self._counter})"

    def _open(self, keys: ResponseKeys, sealed: bytes, final: bool) -> bytes:
        aead = self._context.suite.aead
        if self._counter >= 1 << (8 * aead.nn):
            raise _chunk_invalid("too many chunks")
        if not final and len(sealed) <= aead.nt:
            raise _chunk_invalid("a non-final chunk is empty")
        try:
            plaintext = keys.cipher.open(keys.chunk_nonce(self._counter), FINAL_AAD if final else b"", sealed)
        except DecryptionError:
            raise _chunk_invalid("a response chunk did not authenticate") from None
        self._counter += 1
        return plaintext

    def feed(self, data: bytes) -> list[bytes]:
        """Plaintext of the non-final chunks completed by ``data``."""
        self._guard()
        try:
            if self._keys is None:
                self._pending += data
                size = response_nonce_size(self._context.suite)
                if len(self._pending) < size:
                    return []
                nonce, data, self._pending = self._pending[:size], self._pending[size:], b""
                self._keys = response_keys(self._context, self._enc, nonce, CHUNKED_RESPONSE_LABEL)
            keys = self._keys
            return [self._open(keys, sealed, final=False) for sealed in self._framer.feed(data)]
        except AttestgwError:
            self._used = True  # fail closed: a broken stream is not resumed
            raise

    def finish(self) -> bytes:
        """Plaintext of the final chunk; ``ohttp.truncated`` if the stream ended without it."""
        self._consume("ChunkedResponseOpener.finish")
        if self._keys is None:
            raise DecryptionError("ohttp.truncated", "the response ended inside its nonce")
        sealed = self._framer.finish()
        if len(sealed) < self._context.suite.aead.nt:
            raise DecryptionError("ohttp.truncated", "the response ended inside its final chunk")
        return self._open(self._keys, sealed, final=True)

    def open_all(self, body: bytes) -> bytes:
        """A whole chunked response body at once: every chunk's plaintext, concatenated."""
        parts = self.feed(body)
        parts.append(self.finish())
        return b"".join(parts)


class ChunkedRequestReader(_Stream):
    """Server side: opens a chunked request as its bytes arrive; ``finish`` gives the response sealer."""

    __slots__ = ("_admitted", "_context", "_enc", "_framer", "_pending", "_replay", "_setup")

    def __init__(
        self, setup: RequestSetup, replay: ReplayWindow, *, max_chunk: int = DEFAULT_MAX_CHUNK
    ) -> None:
        super().__init__()
        self._setup = setup
        self._replay = replay
        self._context: RecipientContext | None = None
        self._enc = b""
        self._pending = b""
        self._framer = ChunkFramer(max_chunk)
        self._admitted = False

    def __repr__(self) -> str:
        suite = self._context.suite if self._context else None
        return f"ChunkedRequestReader({suite!r}, used={self.used})"

    def _open(self, context: RecipientContext, sealed: bytes, final: bool) -> bytes:
        if not final and len(sealed) <= context.suite.aead.nt:
            raise _chunk_invalid("a non-final chunk is empty")
        try:
            plaintext = context.open(sealed, FINAL_AAD if final else b"")
        except DecryptionError:
            raise _chunk_invalid("a request chunk did not authenticate") from None
        if not self._admitted:
            # Only an authenticated request enters the replay window (see ReplayWindow).
            if not self._replay.admit(self._enc):
                raise DecryptionError("ohttp.replay", "this request was already accepted")
            self._admitted = True
        return plaintext

    def feed(self, data: bytes) -> list[bytes]:
        """Plaintext of the non-final request chunks completed by ``data``."""
        self._guard()
        try:
            if self._context is None:
                self._pending += data
                accepted = self._setup(self._pending)
                if accepted is None:
                    return []
                consumed, self._enc, self._context = accepted
                data, self._pending = self._pending[consumed:], b""
            context = self._context
            return [self._open(context, sealed, final=False) for sealed in self._framer.feed(data)]
        except AttestgwError:
            self._used = True
            raise

    def finish(self) -> tuple[bytes, ChunkedResponseSealer]:
        """The final chunk's plaintext and the one sealer for the chunked response."""
        self._consume("ChunkedRequestReader.finish")
        if self._context is None:
            raise DecryptionError("ohttp.truncated", "the request ended inside its header")
        sealed = self._framer.finish()
        if len(sealed) < self._context.suite.aead.nt:
            raise DecryptionError("ohttp.truncated", "the request ended inside its final chunk")
        return self._open(self._context, sealed, final=True), ChunkedResponseSealer(self._context, self._enc)


class ChunkedResponseSealer(_Stream):
    """Server side: seals a response chunk by chunk; the first output carries the response nonce."""

    __slots__ = ("_context", "_counter", "_enc", "_keys", "_prefix")

    def __init__(self, context: RecipientContext, enc: bytes) -> None:
        super().__init__()
        self._context = context
        self._enc = enc
        self._keys: ResponseKeys | None = None
        self._prefix = b""
        self._counter = 0

    def __repr__(self) -> str:
        return f"ChunkedResponseSealer({self._context.suite!r}, chunks={self._counter})"

    def _start(self, test_nonce: bytes | None) -> ResponseKeys:
        if self._keys is not None:
            if test_nonce is not None:
                raise UsageError("usage.invalid", "the response nonce is fixed by the first chunk")
            return self._keys
        size = response_nonce_size(self._context.suite)
        nonce = os.urandom(size) if test_nonce is None else test_nonce
        if len(nonce) != size:
            raise UsageError("usage.invalid", f"response nonce must be {size} bytes")
        self._keys = response_keys(self._context, self._enc, nonce, CHUNKED_RESPONSE_LABEL)
        self._prefix = nonce
        return self._keys

    def _seal(self, plaintext: bytes, aad: bytes, test_nonce: bytes | None) -> bytes:
        keys = self._start(test_nonce)
        if self._counter >= (1 << (8 * self._context.suite.aead.nn)) - 1:
            raise _chunk_invalid("too many chunks")
        sealed = keys.cipher.seal(keys.chunk_nonce(self._counter), aad, plaintext)
        self._counter += 1
        prefix, self._prefix = self._prefix, b""
        return prefix + (encode_varint(len(sealed)) if aad != FINAL_AAD else b"\x00") + sealed

    def seal_chunk(self, plaintext: bytes, *, _test_response_nonce: bytes | None = None) -> bytes:
        """A non-final chunk (``b""`` for empty ``plaintext``). ``_test_response_nonce``: tests only."""
        self._guard()
        if not plaintext:
            return b""
        return self._seal(plaintext, b"", _test_response_nonce)

    def seal_final(self, plaintext: bytes = b"", *, _test_response_nonce: bytes | None = None) -> bytes:
        """The final chunk; after it the sealer refuses further use."""
        self._consume("ChunkedResponseSealer.seal_final")
        return self._seal(plaintext, FINAL_AAD, _test_response_nonce)
