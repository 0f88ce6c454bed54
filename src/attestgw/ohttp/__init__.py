"""Oblivious HTTP (RFC 9458) and chunked OHTTP (draft-ietf-ohai-chunked-ohttp), sans I/O.

Layer L2, above :mod:`attestgw.crypto` (all cryptography goes through :mod:`attestgw.crypto.hpke`)
and below everything that moves bytes. Nothing here opens a socket or reads a clock other than the
replay window's injectable one.

- Key configurations: :class:`KeyConfig`, :func:`encode_key_configs` / :func:`decode_key_configs`
  (``application/ohttp-keys``).
- Client: :class:`ClientRequest` → ``seal`` → ``(bytes, ClientResponseOpener)``; chunked:
  :class:`ChunkedClientRequest` → ``seal_chunk`` … ``seal_final`` → :class:`ChunkedResponseOpener`.
- Gateway: :class:`Server` (several :class:`ServerKey` for rotation, a :class:`ReplayWindow`) →
  ``open_request`` → ``(bytes, ServerResponseSealer)``; chunked: ``chunked_request_reader`` /
  ``open_chunked_request`` → :class:`ChunkedResponseSealer`.

Every request/response object is one-shot (``ohttp.already_used``). See ``docs/channel.md``.
"""

from __future__ import annotations

from attestgw.ohttp.chunked import (
    ChunkedClientRequest,
    ChunkedRequestReader,
    ChunkedResponseOpener,
    ChunkedResponseSealer,
)
from attestgw.ohttp.chunks import DEFAULT_MAX_CHUNK, ChunkFramer
from attestgw.ohttp.client import ClientRequest, ClientResponseOpener
from attestgw.ohttp.config import KeyConfig, SymmetricAlgorithm, decode_key_configs, encode_key_configs
from attestgw.ohttp.framing import (
    CHUNKED_REQUEST_LABEL,
    CHUNKED_RESPONSE_LABEL,
    REQUEST_LABEL,
    RESPONSE_LABEL,
    RequestHeader,
)
from attestgw.ohttp.replay import ReplayWindow
from attestgw.ohttp.server import DEFAULT_SYMMETRIC, PQ_SYMMETRIC, Server, ServerKey, ServerResponseSealer

#: Media types (RFC 9458 §9, draft-ietf-ohai-chunked-ohttp §8).
MEDIA_TYPE_KEYS = "application/ohttp-keys"
MEDIA_TYPE_REQUEST = "message/ohttp-req"
MEDIA_TYPE_RESPONSE = "message/ohttp-res"
MEDIA_TYPE_CHUNKED_REQUEST = "message/ohttp-chunked-req"
MEDIA_TYPE_CHUNKED_RESPONSE = "message/ohttp-chunked-res"

__all__ = [
    "CHUNKED_REQUEST_LABEL",
    "CHUNKED_RESPONSE_LABEL",
    "DEFAULT_MAX_CHUNK",
    "DEFAULT_SYMMETRIC",
    "MEDIA_TYPE_CHUNKED_REQUEST",
    "MEDIA_TYPE_CHUNKED_RESPONSE",
    "MEDIA_TYPE_KEYS",
    "MEDIA_TYPE_REQUEST",
    "MEDIA_TYPE_RESPONSE",
    "PQ_SYMMETRIC",
    "REQUEST_LABEL",
    "RESPONSE_LABEL",
    "ChunkFramer",
    "ChunkedClientRequest",
    "ChunkedRequestReader",
    "ChunkedResponseOpener",
    "ChunkedResponseSealer",
    "ClientRequest",
    "ClientResponseOpener",
    "KeyConfig",
    "ReplayWindow",
    "RequestHeader",
    "Server",
    "ServerKey",
    "ServerResponseSealer",
    "SymmetricAlgorithm",
    "decode_key_configs",
    "encode_key_configs",
]
