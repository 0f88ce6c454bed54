"""The client side of Oblivious HTTP (RFC 9458 §4.3, §4.4): seal a request, open its response.

Typestate: :class:`ClientRequest` seals exactly one request and returns the
:class:`ClientResponseOpener` that can open exactly that request's response, once. Both are one-shot
(``ohttp.already_used`` on reuse, even after a failed attempt), so an HPKE context is never used for
two messages and a failed open cannot be retried as an oracle.

Steps of :meth:`ClientRequest.seal`:

1. choose the suite: the (KDF, AEAD) pair asked for, which the config must offer, or the config's
   first implemented pair;
2. ``hdr = key_id ‖ kem_id ‖ kdf_id ‖ aead_id``; ``enc, ctx = SetupBaseS(pkR, "message/bhttp
   request" ‖ 0x00 ‖ hdr)``; ``ct = ctx.Seal("", request)``;
3. the encapsulated request is ``hdr ‖ enc ‖ ct``.

:meth:`ClientResponseOpener.open` splits ``response_nonce ‖ ct`` (nonce ``max(Nn, Nk)`` bytes),
derives the response key (:func:`~attestgw.ohttp.framing.response_keys`) and opens with an empty AAD.

Not checked here: that the key configuration is the attested one (see :mod:`attestgw.evidence.binding`),
and anything about the Binary HTTP content.
"""

from __future__ import annotations

from attestgw.crypto.hpke import SenderContext, Suite, setup_base_sender
from attestgw.errors import DecryptionError, FormatError
from attestgw.ohttp._once import OneShot
from attestgw.ohttp.config import KeyConfig
from attestgw.ohttp.framing import (
    REQUEST_LABEL,
    RESPONSE_LABEL,
    RequestHeader,
    encode_header,
    request_info,
    response_keys,
    response_nonce_size,
)

__all__ = ["ClientRequest", "ClientResponseOpener", "choose_suite"]


def choose_suite(config: KeyConfig, kdf_id: int | None, aead_id: int | None) -> Suite:
    """The suite for ``config``: the requested pair (both ids given) or the config's preferred one."""
    if kdf_id is None and aead_id is None:
        return config.preferred_suite()
    if kdf_id is None or aead_id is None:
        raise FormatError("hpke.suite_unsupported", "give both kdf_id and aead_id, or neither")
    return config.suite(kdf_id, aead_id)


def header_for(config: KeyConfig, suite: Suite) -> RequestHeader:
    return RequestHeader(config.key_id, config.kem_id, suite.kdf.kdf_id, suite.aead.aead_id)


def header_bytes(config: KeyConfig, suite: Suite) -> bytes:
    """``header_for(config, suite).encode()``, without building the header object."""
    return encode_header(config.key_id, config.kem_id, suite.kdf.kdf_id, suite.aead.aead_id)


class ClientRequest(OneShot):
    """One request to one OHTTP key configuration. :meth:`seal` works once."""

    __slots__ = ("_config", "_suite")

    def __init__(self, config: KeyConfig, *, kdf_id: int | None = None, aead_id: int | None = None) -> None:
        super().__init__()
        self._config = config
        self._suite = choose_suite(config, kdf_id, aead_id)

    def __repr__(self) -> str:
        return f"ClientRequest(key_id={self._config.key_id}, {self._suite!r}, used={self.used})"

    @property
    def suite(self) -> Suite:
        return self._suite

    def seal(
        self, request: bytes, *, _test_randomness: bytes | None = None
    ) -> tuple[bytes, ClientResponseOpener]:
        """``(encapsulated_request, opener)``. ``request`` is normally a Binary HTTP message.

        ``_test_randomness`` (tests only) injects the KEM's ephemeral secret to reproduce vectors.
        """
        self._consume("ClientRequest.seal")
        header = header_bytes(self._config, self._suite)
        enc, context = setup_base_sender(
            self._suite,
            self._config.public_key,
            request_info(REQUEST_LABEL, header),
            _test_randomness=_test_randomness,
        )
        return header + enc + context.seal(request), ClientResponseOpener(context, enc)


class ClientResponseOpener(OneShot):
    """Opens the response to one sealed request, once."""

    __slots__ = ("_context", "_enc")

    def __init__(self, context: SenderContext, enc: bytes) -> None:
        super().__init__()
        self._context = context
        self._enc = enc

    def __repr__(self) -> str:
        return f"ClientResponseOpener({self._context.suite!r}, used={self.used})"

    def open(self, response: bytes) -> bytes:
        """The response plaintext; ``ohttp.malformed`` if too short, ``ohttp.decrypt_failed`` if forged."""
        self._consume("ClientResponseOpener.open")
        suite = self._context.suite
        nonce_size = response_nonce_size(suite)
        if len(response) < nonce_size + suite.aead.nt:
            raise FormatError("ohttp.malformed", f"response of {len(response)} bytes is too short")
        keys = response_keys(self._context, self._enc, bytes(response[:nonce_size]), RESPONSE_LABEL)
        try:
            return keys.cipher.open(keys.base_nonce, b"", bytes(response[nonce_size:]))
        except DecryptionError:
            raise DecryptionError(
                "ohttp.decrypt_failed", "the encapsulated response did not decrypt"
            ) from None
