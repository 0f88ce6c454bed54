"""OHTTP key configurations and application/ohttp-keys with several configs."""

from __future__ import annotations

import struct

import pytest

from attestgw.crypto.hpke import AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305, KDF_HKDF_SHA256
from attestgw.errors import FormatError
from attestgw.ohttp import KeyConfig, ServerKey, SymmetricAlgorithm, decode_key_configs, encode_key_configs


def test_several_configs_round_trip_with_length_prefixes(server_key: ServerKey, xwing_key: ServerKey) -> None:
    configs = [server_key.config, xwing_key.config]
    body = encode_key_configs(configs)
    first = server_key.config.encode()
    assert body[:2] == struct.pack(">H", len(first))
    assert body[2 : 2 + len(first)] == first
    assert decode_key_configs(body) == tuple(configs)
    assert xwing_key.config.kem_id == 0x647A
    assert len(xwing_key.config.public_key.raw) == 1216


def test_config_with_unimplemented_kem_is_skipped_but_not_alone(server_key: ServerKey) -> None:
    foreign = struct.pack(">BH", 9, 0x0010) + b"\x04" * 65 + struct.pack(">HHH", 4, 1, 1)  # a P-256 config
    body = encode_key_configs([server_key.config])
    mixed = struct.pack(">H", len(foreign)) + foreign + body
    assert decode_key_configs(mixed) == (server_key.config,)
    with pytest.raises(FormatError) as err:
        decode_key_configs(struct.pack(">H", len(foreign)) + foreign)
    assert err.value.code == "ohttp.key_config_invalid"
    with pytest.raises(FormatError) as err:
        KeyConfig.decode(foreign)
    assert err.value.code == "hpke.suite_unsupported"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],  # truncated last config
        lambda b: b + b"\x00",  # dangling byte
        lambda b: b + b"\x00\x05abc",  # prefix longer than what follows
        lambda b: b"",  # empty collection
    ],
)
def test_any_encoding_error_rejects_the_whole_collection(server_key: ServerKey, mutate: object) -> None:
    body = encode_key_configs([server_key.config, ServerKey.generate(2).config])
    assert callable(mutate)
    with pytest.raises(FormatError) as err:
        decode_key_configs(mutate(body))
    assert err.value.code in ("ohttp.key_config_invalid", "hpke.key_invalid")


@pytest.mark.parametrize("algorithms_length", [0, 3, 6])
def test_bad_algorithms_length_is_refused(server_key: ServerKey, algorithms_length: int) -> None:
    raw = bytearray(server_key.config.encode())
    struct.pack_into(">H", raw, 35, algorithms_length)
    with pytest.raises(FormatError) as err:
        KeyConfig.decode(bytes(raw))
    assert err.value.code == "ohttp.key_config_invalid"


def test_key_config_fields_are_range_checked(server_key: ServerKey) -> None:
    public = server_key.config.public_key
    with pytest.raises(FormatError):
        KeyConfig(256, public, (SymmetricAlgorithm(1, 1),))
    with pytest.raises(FormatError):
        KeyConfig(1, public, ())


def test_suite_choice_follows_the_servers_order_and_skips_unknown_pairs(server_key: ServerKey) -> None:
    config = KeyConfig(
        3,
        server_key.config.public_key,
        (SymmetricAlgorithm(0x0002, 0x0001), SymmetricAlgorithm(KDF_HKDF_SHA256, AEAD_CHACHA20_POLY1305)),
    )
    assert config.preferred_suite().aead.aead_id == AEAD_CHACHA20_POLY1305
    with pytest.raises(FormatError) as err:
        config.suite(KDF_HKDF_SHA256, AEAD_AES_256_GCM)
    assert err.value.code == "hpke.suite_unsupported"
    unusable = KeyConfig(3, server_key.config.public_key, (SymmetricAlgorithm(0x0002, 0x0001),))
    with pytest.raises(FormatError):
        unusable.preferred_suite()


def test_server_key_repr_shows_fingerprint_not_secret(server_key: ServerKey) -> None:
    text = repr(server_key)
    assert "key_id=1" in text
    assert server_key.config.public_key.fingerprint in text
    assert "secret" not in text.lower()


def test_post_quantum_keys_offer_256_bit_aeads_by_default(
    xwing_key: ServerKey, server_key: ServerKey
) -> None:
    assert [(p.kdf_id, p.aead_id) for p in xwing_key.config.symmetric] == [(1, 2), (1, 3)]
    assert [(p.kdf_id, p.aead_id) for p in server_key.config.symmetric] == [(1, 1), (1, 3)]
    assert xwing_key.config.preferred_suite().aead.nk == 32
