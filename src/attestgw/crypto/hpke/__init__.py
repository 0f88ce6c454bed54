"""HPKE (RFC 9180) base mode with the secret-export interface, over ``cryptography`` primitives.

The narrow module behind which attestgw does public-key encryption (OHTTP uses nothing else).
``cryptography``'s own ``hpke`` module is not used because it has no context API and no exporter.

Suites: KEM DHKEM(X25519, HKDF-SHA256) 0x0020 or X-Wing 0x647A (ML-KEM-768 + X25519,
post-quantum); KDF HKDF-SHA256 0x0001 (or HKDF-SHA512 0x0003); AEAD AES-128-GCM 0x0001, AES-256-GCM
0x0002, ChaCha20-Poly1305 0x0003. :data:`DEFAULT_SUITE` is X25519 / HKDF-SHA256 / AES-128-GCM.

Typical use::

    suite = Suite.from_ids(KEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_128_GCM)
    private_key = suite.kem.generate_key_pair()            # recipient, inside the TEE
    enc, sender = setup_base_sender(suite, private_key.public_key, info)
    ct = sender.seal(b"hello", aad=b"")
    recipient = setup_base_recipient(suite, enc, private_key, info)
    assert recipient.open(ct) == b"hello"
    assert sender.export(b"ctx", 32) == recipient.export(b"ctx", 32)

Errors: ``FormatError`` (``hpke.suite_unsupported``, ``hpke.key_invalid``, ``hpke.length_invalid``)
for bad identifiers, keys and lengths; ``DecryptionError`` (``hpke.decap_failed``,
``hpke.open_failed``, ``hpke.message_limit``) when sealed data does not open.
"""

from __future__ import annotations

from attestgw.crypto.hpke.context import (
    DEFAULT_SUITE,
    KEMS,
    RecipientContext,
    SenderContext,
    Suite,
    kem_by_id,
    open_base,
    seal_base,
    setup_base_recipient,
    setup_base_sender,
)
from attestgw.crypto.hpke.dhkem import KEM_X25519_HKDF_SHA256, DhkemX25519
from attestgw.crypto.hpke.kem import Kem, PrivateKey, PublicKey
from attestgw.crypto.hpke.primitives import (
    AEAD_AES_128_GCM,
    AEAD_AES_256_GCM,
    AEAD_CHACHA20_POLY1305,
    AEADS,
    KDF_HKDF_SHA256,
    KDF_HKDF_SHA512,
    KDFS,
    Aead,
    AeadCipher,
    Kdf,
    aead_by_id,
    kdf_by_id,
)
from attestgw.crypto.hpke.xwing import KEM_XWING, XWing, xwing_available

__all__ = [
    "AEADS",
    "AEAD_AES_128_GCM",
    "AEAD_AES_256_GCM",
    "AEAD_CHACHA20_POLY1305",
    "DEFAULT_SUITE",
    "KDFS",
    "KDF_HKDF_SHA256",
    "KDF_HKDF_SHA512",
    "KEMS",
    "KEM_X25519_HKDF_SHA256",
    "KEM_XWING",
    "Aead",
    "AeadCipher",
    "DhkemX25519",
    "Kdf",
    "Kem",
    "PrivateKey",
    "PublicKey",
    "RecipientContext",
    "SenderContext",
    "Suite",
    "XWing",
    "aead_by_id",
    "kdf_by_id",
    "kem_by_id",
    "open_base",
    "seal_base",
    "setup_base_recipient",
    "setup_base_sender",
    "xwing_available",
]
