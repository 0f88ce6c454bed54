"""HPKE behaviour beyond the vectors: every suite round-trips, forgeries fail, secrets never print."""

from __future__ import annotations

import pytest

from attestgw.crypto.hpke import (
    AEAD_AES_128_GCM,
    AEAD_AES_256_GCM,
    AEAD_CHACHA20_POLY1305,
    DEFAULT_SUITE,
    KDF_HKDF_SHA256,
    KEM_X25519_HKDF_SHA256,
    KEM_XWING,
    Suite,
    open_base,
    seal_base,
    setup_base_recipient,
    setup_base_sender,
    xwing_available,
)
from attestgw.errors import DecryptionError, FormatError

KEMS = [KEM_X25519_HKDF_SHA256, KEM_XWING]
AEADS = [AEAD_AES_128_GCM, AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305]


def _suite(kem_id: int, aead_id: int = AEAD_AES_128_GCM) -> Suite:
    if kem_id == KEM_XWING and not xwing_available():
        pytest.skip("the installed cryptography backend has no ML-KEM-768")
    return Suite.from_ids(kem_id, KDF_HKDF_SHA256, aead_id)


@pytest.mark.parametrize("kem_id", KEMS)
@pytest.mark.parametrize("aead_id", AEADS)
def test_context_round_trip_in_order_and_export_agrees(kem_id: int, aead_id: int) -> None:
    suite = _suite(kem_id, aead_id)
    key = suite.kem.generate_key_pair()
    enc, sender = setup_base_sender(suite, key.public_key, b"info")
    assert len(enc) == suite.kem.n_enc
    recipient = setup_base_recipient(suite, enc, key, b"info")
    for i in range(3):
        message = b"message %d" % i
        assert recipient.open(sender.seal(message, b"aad"), b"aad") == message
    assert sender.export(b"label", 40) == recipient.export(b"label", 40)
    assert sender.export(b"label", 40) != sender.export(b"other", 40)


@pytest.mark.parametrize("kem_id", KEMS)
def test_single_shot_round_trip(kem_id: int) -> None:
    suite = _suite(kem_id)
    key = suite.kem.generate_key_pair()
    enc, ct = seal_base(suite, key.public_key, b"info", b"aad", b"secret prompt")
    assert open_base(suite, enc, key, b"info", b"aad", ct) == b"secret prompt"


@pytest.mark.parametrize("kem_id", KEMS)
def test_wrong_info_aad_or_key_does_not_open(kem_id: int) -> None:
    suite = _suite(kem_id)
    key = suite.kem.generate_key_pair()
    enc, ct = seal_base(suite, key.public_key, b"info", b"aad", b"pt")
    other = suite.kem.generate_key_pair()
    for args in ((enc, key, b"other", b"aad"), (enc, key, b"info", b"other"), (enc, other, b"info", b"aad")):
        with pytest.raises(DecryptionError) as err:
            open_base(suite, args[0], args[1], args[2], args[3], ct)
        assert err.value.code == "hpke.open_failed"


def test_out_of_order_messages_do_not_open_and_failure_keeps_sequence() -> None:
    key = DEFAULT_SUITE.kem.generate_key_pair()
    enc, sender = setup_base_sender(DEFAULT_SUITE, key.public_key, b"")
    first, second = sender.seal(b"1"), sender.seal(b"2")
    recipient = setup_base_recipient(DEFAULT_SUITE, enc, key, b"")
    with pytest.raises(DecryptionError):
        recipient.open(second)
    assert recipient.seq == 0
    assert recipient.open(first) == b"1"
    assert recipient.open(second) == b"2"


def test_message_limit_is_enforced() -> None:
    key = DEFAULT_SUITE.kem.generate_key_pair()
    _, sender = setup_base_sender(DEFAULT_SUITE, key.public_key, b"")
    sender._seq = (1 << 96) - 2  # jump to the end of the 12-byte nonce space
    sender.seal(b"last one")
    with pytest.raises(DecryptionError) as err:
        sender.seal(b"one too many")
    assert err.value.code == "hpke.message_limit"


def test_low_order_x25519_enc_is_refused() -> None:
    key = DEFAULT_SUITE.kem.generate_key_pair()
    with pytest.raises(DecryptionError) as err:
        setup_base_recipient(DEFAULT_SUITE, bytes(32), key, b"")
    assert err.value.code == "hpke.decap_failed"
    with pytest.raises(FormatError) as ferr:
        setup_base_sender(DEFAULT_SUITE, DEFAULT_SUITE.kem.public_key_from_bytes(bytes(32)), b"")
    assert ferr.value.code == "hpke.key_invalid"


@pytest.mark.parametrize("kem_id", KEMS)
def test_wrong_length_enc_and_keys_are_refused(kem_id: int) -> None:
    suite = _suite(kem_id)
    key = suite.kem.generate_key_pair()
    with pytest.raises(DecryptionError) as err:
        setup_base_recipient(suite, b"\x01" * (suite.kem.n_enc - 1), key, b"")
    assert err.value.code == "hpke.decap_failed"
    for bad in (b"", b"\x01" * (suite.kem.n_pk + 1)):
        with pytest.raises(FormatError) as ferr:
            suite.kem.public_key_from_bytes(bad)
        assert ferr.value.code == "hpke.key_invalid"
    with pytest.raises(FormatError):
        suite.kem.private_key_from_bytes(b"\x01" * 31)


def test_xwing_rejects_an_invalid_mlkem_public_key() -> None:
    suite = _suite(KEM_XWING)
    with pytest.raises(FormatError) as err:
        suite.kem.public_key_from_bytes(b"\xff" * suite.kem.n_pk)
    assert err.value.code == "hpke.key_invalid"


def test_xwing_tampered_enc_fails_at_the_aead() -> None:
    """ML-KEM uses implicit rejection: a flipped bit gives a different secret, so open fails."""
    suite = _suite(KEM_XWING)
    key = suite.kem.generate_key_pair()
    enc, ct = seal_base(suite, key.public_key, b"", b"", b"pt")
    tampered = bytes([enc[0] ^ 1]) + enc[1:]
    with pytest.raises(DecryptionError) as err:
        open_base(suite, tampered, key, b"", b"", ct)
    assert err.value.code == "hpke.open_failed"


def test_key_of_another_kem_is_refused() -> None:
    xwing = _suite(KEM_XWING)
    x25519_key = DEFAULT_SUITE.kem.generate_key_pair()
    with pytest.raises(FormatError) as err:
        setup_base_sender(xwing, x25519_key.public_key, b"")
    assert err.value.code == "hpke.key_invalid"


def test_export_length_bounds() -> None:
    key = DEFAULT_SUITE.kem.generate_key_pair()
    _, sender = setup_base_sender(DEFAULT_SUITE, key.public_key, b"")
    assert len(sender.export(b"", 255 * 32)) == 255 * 32
    with pytest.raises(FormatError) as err:
        sender.export(b"", 255 * 32 + 1)
    assert err.value.code == "hpke.length_invalid"


def test_unknown_identifiers_are_refused() -> None:
    for ids in ((0x0010, 1, 1), (0x0020, 2, 1), (0x0020, 1, 0xFFFF), (0x0041, 1, 1)):
        with pytest.raises(FormatError) as err:
            Suite.from_ids(*ids)
        assert err.value.code == "hpke.suite_unsupported"


@pytest.mark.parametrize("kem_id", KEMS)
def test_private_keys_and_contexts_never_print_secrets(kem_id: int) -> None:
    suite = _suite(kem_id)
    raw = bytes(range(100, 132))
    key = suite.kem.private_key_from_bytes(raw)
    enc, sender = setup_base_sender(suite, key.public_key, b"")
    recipient = setup_base_recipient(suite, enc, key, b"")
    text = " ".join(repr(x) for x in (key, sender, recipient, sender._cipher))
    assert key.public_key.fingerprint in repr(key)
    for blob in (raw, sender._exporter_secret):
        assert blob.hex()[:16] not in text
    assert "secret" not in text.lower()
