"""The pieces RFC 9458 §4 and chunked OHTTP share: the request header, HPKE info strings and the
derivation of the response AEAD key and nonce.

Request header (RFC 9458 §4.3): ``key_id (1) ‖ kem_id (2) ‖ kdf_id (2) ‖ aead_id (2)``, then the
KEM's ``enc``. HPKE ``info = label ‖ 0x00 ‖ header``, where the label is ``"message/bhttp request"``
or, chunked, ``"message/bhttp chunked request"``.

Response keys (RFC 9458 §4.4; draft-ietf-ohai-chunked-ohttp §6.2 with its own export label)::

    L      = max(Nn, Nk)
    secret = context.Export(label, L)        # "message/bhttp response" / "... chunked response"
    prk    = Extract(enc ‖ response_nonce, secret)
    key    = Expand(prk, "key", Nk);  nonce = Expand(prk, "nonce", Nn)

Extract/Expand here are the suite's plain HKDF (not the labeled variants).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from attestgw.crypto.hpke import AeadCipher, RecipientContext, SenderContext, Suite
from attestgw.errors import FormatError

__all__ = [
    "CHUNKED_REQUEST_LABEL",
    "CHUNKED_RESPONSE_LABEL",
    "FINAL_AAD",
    "HEADER_SIZE",
    "REQUEST_LABEL",
    "RESPONSE_LABEL",
    "RequestHeader",
    "ResponseKeys",
    "decode_header",
    "encode_header",
    "request_info",
    "response_keys",
    "response_nonce_size",
]

REQUEST_LABEL = b"message/bhttp request"
RESPONSE_LABEL = b"message/bhttp response"
CHUNKED_REQUEST_LABEL = b"message/bhttp chunked request"
CHUNKED_RESPONSE_LABEL = b"message/bhttp chunked response"
#: AAD of the last chunk of a chunked message (draft-ietf-ohai-chunked-ohttp §6).
FINAL_AAD = b"final"
HEADER_SIZE = 7

_HEADER = struct.Struct(">BHHH")


def encode_header(key_id: int, kem_id: int, kdf_id: int, aead_id: int) -> bytes:
    """The request header bytes ``key_id ‖ kem_id ‖ kdf_id ‖ aead_id``."""
    return _HEADER.pack(key_id, kem_id, kdf_id, aead_id)


def decode_header(data: bytes) -> tuple[int, int, int, int]:
    """``(key_id, kem_id, kdf_id, aead_id)`` from the start of ``data`` (``ohttp.malformed`` if short)."""
    if len(data) < HEADER_SIZE:
        raise FormatError("ohttp.malformed", f"request of {len(data)} bytes is shorter than its header")
    key_id, kem_id, kdf_id, aead_id = _HEADER.unpack_from(data, 0)
    return key_id, kem_id, kdf_id, aead_id


def request_info(label: bytes, header: bytes) -> bytes:
    """HPKE ``info`` for an encoded request header: ``label ‖ 0x00 ‖ header``."""
    return label + b"\x00" + header


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """The 7-byte header of an encapsulated request (before ``enc``)."""

    key_id: int
    kem_id: int
    kdf_id: int
    aead_id: int

    def encode(self) -> bytes:
        return encode_header(self.key_id, self.kem_id, self.kdf_id, self.aead_id)

    @classmethod
    def decode(cls, data: bytes) -> RequestHeader:
        return cls(*decode_header(data))

    def info(self, label: bytes) -> bytes:
        """HPKE ``info`` for this header: ``label ‖ 0x00 ‖ header``."""
        return request_info(label, self.encode())


def response_nonce_size(suite: Suite) -> int:
    """``max(Nn, Nk)``: the length of the response nonce and of the exported secret."""
    return max(suite.aead.nn, suite.aead.nk)


class ResponseKeys:
    """The response AEAD key (as a keyed cipher) and base nonce. Secrets: no ``repr`` of them."""

    __slots__ = ("base_nonce", "cipher")

    def __init__(self, cipher: AeadCipher, base_nonce: bytes) -> None:
        self.cipher = cipher
        self.base_nonce = base_nonce

    def __repr__(self) -> str:
        return f"ResponseKeys({self.cipher.aead.name})"

    def chunk_nonce(self, counter: int) -> bytes:
        """``base_nonce XOR I2OSP(counter, Nn)`` (chunked responses)."""
        if counter == 0:
            return self.base_nonce
        size = len(self.base_nonce)
        return (int.from_bytes(self.base_nonce, "big") ^ counter).to_bytes(size, "big")


def response_keys(
    context: SenderContext | RecipientContext, enc: bytes, response_nonce: bytes, label: bytes
) -> ResponseKeys:
    """Derive the response key and nonce from the request's HPKE context (see module docstring)."""
    suite = context.suite
    kdf, aead = suite.kdf, suite.aead
    secret = context.export(label, response_nonce_size(suite))
    prk = kdf.extract(enc + response_nonce, secret)
    key = kdf.expand(prk, b"key", aead.nk)
    nonce = kdf.expand(prk, b"nonce", aead.nn)
    return ResponseKeys(AeadCipher(aead, key), nonce)
