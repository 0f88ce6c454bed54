"""The gateway side of Oblivious HTTP (RFC 9458 §4.3–4.4, chunked OHTTP), with key rotation and replay.

:class:`ServerKey` pairs one :class:`~attestgw.ohttp.config.KeyConfig` with its private key, which is
generated where it is used (inside the TEE) and never printed. :class:`Server` holds several keys at
once so that keys can rotate with overlap: a new key id is added, clients move to it when they next
attest, the old one is removed later; meanwhile a request is opened with whichever key its header
names.

Steps of :meth:`Server.open_request`:

1. parse the 7-byte header (``ohttp.malformed`` if short);
2. find the key with that key id and KEM (``ohttp.unknown_key_id`` otherwise) and check that its config
   offers the (KDF, AEAD) pair (``hpke.suite_unsupported``);
3. ``SetupBaseR`` with ``enc`` and info ``"message/bhttp request" ‖ 0x00 ‖ hdr`` (a rejected ``enc``
   → ``ohttp.decrypt_failed``), then ``Open("", ct)`` (``ohttp.decrypt_failed``);
4. only then admit ``enc`` to the replay window (``ohttp.replay`` if it is already there);
5. return the plaintext and the :class:`ServerResponseSealer` that seals this request's response once.

Not done here: checking the Binary HTTP content, the inner ``Date`` against
:meth:`ReplayWindow.horizon`, or mapping errors to HTTP problems (the worker does those).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from attestgw.crypto.hpke import (
    AEAD_AES_128_GCM,
    AEAD_AES_256_GCM,
    AEAD_CHACHA20_POLY1305,
    KDF_HKDF_SHA256,
    KEM_X25519_HKDF_SHA256,
    KEM_XWING,
    PrivateKey,
    RecipientContext,
    Suite,
    kem_by_id,
    setup_base_recipient,
)
from attestgw.errors import DecryptionError, FormatError, UsageError
from attestgw.ohttp._once import OneShot
from attestgw.ohttp.chunked import ChunkedRequestReader, ChunkedResponseSealer
from attestgw.ohttp.chunks import DEFAULT_MAX_CHUNK
from attestgw.ohttp.config import KeyConfig, SymmetricAlgorithm, encode_key_configs
from attestgw.ohttp.framing import (
    CHUNKED_REQUEST_LABEL,
    HEADER_SIZE,
    REQUEST_LABEL,
    RESPONSE_LABEL,
    decode_header,
    request_info,
    response_keys,
    response_nonce_size,
)
from attestgw.ohttp.replay import ReplayWindow

__all__ = ["DEFAULT_SYMMETRIC", "PQ_SYMMETRIC", "Server", "ServerKey", "ServerResponseSealer"]

#: What X25519 key configurations offer: HKDF-SHA256 with AES-128-GCM (RFC 9458's example suite),
#: then ChaCha20-Poly1305.
DEFAULT_SYMMETRIC = (
    SymmetricAlgorithm(KDF_HKDF_SHA256, AEAD_AES_128_GCM),
    SymmetricAlgorithm(KDF_HKDF_SHA256, AEAD_CHACHA20_POLY1305),
)
#: What X-Wing key configurations offer: 256-bit AEAD keys only, as draft-ietf-hpke-pq §6 suggests
#: for post-quantum deployments (AES-256-GCM, then ChaCha20-Poly1305).
PQ_SYMMETRIC = (
    SymmetricAlgorithm(KDF_HKDF_SHA256, AEAD_AES_256_GCM),
    SymmetricAlgorithm(KDF_HKDF_SHA256, AEAD_CHACHA20_POLY1305),
)


class ServerKey:
    """A key configuration and its private key. ``repr`` shows the key id and public fingerprint only."""

    __slots__ = ("_private_key", "_suites", "config")

    def __init__(self, config: KeyConfig, private_key: PrivateKey) -> None:
        if private_key.public_key != config.public_key:
            raise FormatError("ohttp.key_config_invalid", "the private key does not match the config's key")
        self.config = config
        self._private_key = private_key
        # (kdf_id, aead_id) → suite, for the pairs requests have named: checking the config's list and
        # looking the suite up again on every request costs more than the header parse.
        self._suites: dict[tuple[int, int], Suite] = {}

    @classmethod
    def generate(
        cls,
        key_id: int,
        *,
        kem_id: int = KEM_X25519_HKDF_SHA256,
        symmetric: tuple[SymmetricAlgorithm, ...] | None = None,
    ) -> ServerKey:
        """A fresh key pair for ``kem_id`` (X25519 by default, or X-Wing) under ``key_id``.

        ``symmetric`` defaults to :data:`DEFAULT_SYMMETRIC` for X25519, :data:`PQ_SYMMETRIC` for X-Wing.
        """
        return cls.from_private_key(key_id, kem_by_id(kem_id).generate_key_pair(), symmetric=symmetric)

    @classmethod
    def from_private_key(
        cls,
        key_id: int,
        private_key: PrivateKey,
        *,
        symmetric: tuple[SymmetricAlgorithm, ...] | None = None,
    ) -> ServerKey:
        """Wrap an existing private key (for published vectors and tests, or a key loaded inside the TEE)."""
        if symmetric is None:
            symmetric = PQ_SYMMETRIC if private_key.kem_id == KEM_XWING else DEFAULT_SYMMETRIC
        return cls(KeyConfig(key_id, private_key.public_key, symmetric), private_key)

    @property
    def key_id(self) -> int:
        return self.config.key_id

    def _suite(self, kdf_id: int, aead_id: int) -> Suite:
        """``config.suite(kdf_id, aead_id)``, remembered: ``hpke.suite_unsupported`` unless offered."""
        pair = (kdf_id, aead_id)
        suite = self._suites.get(pair)
        if suite is None:
            suite = self.config.suite(kdf_id, aead_id)  # raises for a pair not offered or not implemented
            self._suites[pair] = suite  # at most one entry per offered pair
        return suite

    def setup_recipient(self, suite: Suite, enc: bytes, info: bytes) -> RecipientContext:
        """HPKE SetupBaseR with this key (``hpke.decap_failed`` if ``enc`` is rejected)."""
        return setup_base_recipient(suite, enc, self._private_key, info)

    def __repr__(self) -> str:
        return (
            f"ServerKey(key_id={self.config.key_id}, kem=0x{self.config.kem_id:04x}, "
            f"public={self.config.public_key.fingerprint})"
        )


class ServerResponseSealer(OneShot):
    """Seals the response to one opened request, once."""

    __slots__ = ("_context", "_enc")

    def __init__(self, context: RecipientContext, enc: bytes) -> None:
        super().__init__()
        self._context = context
        self._enc = enc

    def __repr__(self) -> str:
        return f"ServerResponseSealer({self._context.suite!r}, used={self.used})"

    def seal(self, response: bytes, *, _test_response_nonce: bytes | None = None) -> bytes:
        """``response_nonce ‖ AEAD.Seal(key, nonce, "", response)``. The nonce injection is for tests only."""
        self._consume("ServerResponseSealer.seal")
        size = response_nonce_size(self._context.suite)
        nonce = os.urandom(size) if _test_response_nonce is None else _test_response_nonce
        if len(nonce) != size:
            raise UsageError("usage.invalid", f"response nonce must be {size} bytes")
        keys = response_keys(self._context, self._enc, nonce, RESPONSE_LABEL)
        return nonce + keys.cipher.seal(keys.base_nonce, b"", response)


class Server:
    """An OHTTP gateway holding one or more keys (unique key ids) and one replay window."""

    __slots__ = ("_keys", "_lock", "max_chunk", "replay_window")

    def __init__(
        self,
        keys: Iterable[ServerKey],
        *,
        replay_window: ReplayWindow | None = None,
        max_chunk: int = DEFAULT_MAX_CHUNK,
    ) -> None:
        self._keys: dict[int, ServerKey] = {}
        self._lock = threading.Lock()
        self.replay_window = replay_window if replay_window is not None else ReplayWindow()
        self.max_chunk = max_chunk
        for key in keys:
            self.add_key(key)
        if not self._keys:
            raise FormatError("ohttp.key_config_invalid", "a server needs at least one key")

    def __repr__(self) -> str:
        return f"Server(key_ids={sorted(self._keys)}, {self.replay_window!r})"

    @property
    def keys(self) -> tuple[ServerKey, ...]:
        """The keys held, in the order they were added."""
        return tuple(self._keys.values())

    def key_configs(self) -> bytes:
        """The ``application/ohttp-keys`` body listing every key held, in the order added.

        These are the exact bytes whose SHA-256 the attestation binds (see ``docs/binding.md``).
        """
        return encode_key_configs(key.config for key in self.keys)

    def add_key(self, key: ServerKey) -> None:
        """Start accepting requests for ``key`` (rotation: add the new key before removing the old)."""
        with self._lock:
            if key.key_id in self._keys:
                raise FormatError("ohttp.key_config_invalid", f"key id {key.key_id} is already in use")
            # Copy-on-write so that concurrent readers always see a complete mapping.
            self._keys = {**self._keys, key.key_id: key}

    def remove_key(self, key_id: int) -> None:
        """Stop accepting requests for ``key_id`` (its requests then fail with ``ohttp.unknown_key_id``)."""
        with self._lock:
            if key_id not in self._keys or len(self._keys) == 1:
                raise FormatError("ohttp.key_config_invalid", f"cannot remove key id {key_id}")
            self._keys = {k: v for k, v in self._keys.items() if k != key_id}

    def _setup(self, data: bytes, label: bytes) -> tuple[int, bytes, RecipientContext] | None:
        """Header → key → HPKE context; None while ``data`` is shorter than ``hdr ‖ enc``."""
        if len(data) < HEADER_SIZE:
            return None
        key_id, kem_id, kdf_id, aead_id = decode_header(data)
        key = self._keys.get(key_id)
        if key is None or key.config.kem_id != kem_id:
            raise DecryptionError("ohttp.unknown_key_id", f"no key with id {key_id} and KEM 0x{kem_id:04x}")
        suite = key._suite(kdf_id, aead_id)
        end = HEADER_SIZE + suite.kem.n_enc
        if len(data) < end:
            return None
        enc = bytes(data[HEADER_SIZE:end])
        try:
            context = key.setup_recipient(suite, enc, request_info(label, bytes(data[:HEADER_SIZE])))
        except DecryptionError:
            raise DecryptionError("ohttp.decrypt_failed", "the encapsulated key was rejected") from None
        return end, enc, context

    def open_request(self, data: bytes) -> tuple[bytes, ServerResponseSealer]:
        """Open a ``message/ohttp-req``: the plaintext and the one-shot response sealer."""
        accepted = self._setup(data, REQUEST_LABEL)
        if accepted is None:
            raise FormatError("ohttp.malformed", f"request of {len(data)} bytes is shorter than hdr ‖ enc")
        end, enc, context = accepted
        if len(data) - end < context.suite.aead.nt:
            raise FormatError("ohttp.malformed", "request ciphertext is shorter than the AEAD tag")
        try:
            plaintext = context.open(bytes(data[end:]))
        except DecryptionError:
            raise DecryptionError(
                "ohttp.decrypt_failed", "the encapsulated request did not decrypt"
            ) from None
        if not self.replay_window.admit(enc):
            raise DecryptionError("ohttp.replay", "this request was already accepted")
        return plaintext, ServerResponseSealer(context, enc)

    def chunked_request_reader(self) -> ChunkedRequestReader:
        """An incremental reader for one ``message/ohttp-chunked-req`` body."""
        return ChunkedRequestReader(
            lambda data: self._setup(data, CHUNKED_REQUEST_LABEL),
            self.replay_window,
            max_chunk=self.max_chunk,
        )

    def open_chunked_request(self, data: bytes) -> tuple[bytes, ChunkedResponseSealer]:
        """Open a whole chunked request body: all chunks' plaintext joined, and the response sealer."""
        reader = self.chunked_request_reader()
        parts = reader.feed(data)
        final, sealer = reader.finish()
        parts.append(final)
        return b"".join(parts), sealer
