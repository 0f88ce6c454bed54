"""EAR signing keys (attestgw.crypto.keys): PEM round trips, JWKs, and refusal of wrong keys."""

from __future__ import annotations

import json

import jwt
import pytest

from attestgw.appraisal import sign_ear
from attestgw.crypto.keys import (
    ec_key_curve_name,
    ec_public_jwk,
    generate_ec_key,
    generate_p256_key,
    jwk_thumbprint,
    load_ec_private_key_pem,
    load_ec_public_key_pem,
    private_key_to_pem,
    public_key_to_pem,
)
from attestgw.errors import ConfigError
from tests.conftest import corpus_file


@pytest.mark.parametrize("curve", ["P-256", "P-384"])
def test_pem_round_trip(curve: str) -> None:
    key = generate_ec_key(curve)
    loaded = load_ec_private_key_pem(private_key_to_pem(key))
    assert ec_key_curve_name(loaded) == curve
    assert public_key_to_pem(loaded) == public_key_to_pem(key)
    public = load_ec_public_key_pem(public_key_to_pem(key))
    assert jwk_thumbprint(public) == jwk_thumbprint(key)


def test_encrypted_pem_needs_the_password() -> None:
    key = generate_p256_key()
    pem = private_key_to_pem(key, password=b"correct horse")
    assert b"ENCRYPTED" in pem
    assert public_key_to_pem(load_ec_private_key_pem(pem, password=b"correct horse")) == public_key_to_pem(
        key
    )
    with pytest.raises(ConfigError) as info:
        load_ec_private_key_pem(pem, password=b"wrong")
    assert info.value.code == "ear.key_invalid"


def test_public_jwk_loads_back_as_the_same_key() -> None:
    key = generate_ec_key("P-384")
    jwk = ec_public_jwk(key)
    assert jwk["crv"] == "P-384"
    assert len(jwk["x"]) == len(jwk["y"]) == 64  # 48 bytes, fixed width, base64url without padding
    again = jwt.PyJWK.from_dict(jwk).key
    assert public_key_to_pem(again) == public_key_to_pem(key)
    assert jwk_thumbprint(key) != jwk_thumbprint(generate_ec_key("P-384"))


@pytest.mark.parametrize(
    "data", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_garbage_is_refused(data: bytes) -> None:
    for loader in (load_ec_private_key_pem, load_ec_public_key_pem):
        with pytest.raises(ConfigError) as info:
            loader(data)
        assert info.value.code == "ear.key_invalid"


def test_a_certificate_is_not_a_public_key() -> None:
    pem = corpus_file("snp/amd-roots/oak_ark_milan.pem").read_bytes()
    with pytest.raises(ConfigError) as info:
        load_ec_public_key_pem(pem)
    assert info.value.code == "ear.key_invalid"


def test_p521_and_rsa_keys_cannot_sign_ears() -> None:
    p521 = jwt.PyJWK.from_dict(
        json.loads(corpus_file("jwt/rfc7520-cookbook/jwk/3_2.ec_private_key.json").read_text())
    ).key
    rsa = jwt.PyJWK.from_dict(
        json.loads(corpus_file("jwt/rfc7520-cookbook/jwk/3_4.rsa_private_key.json").read_text())
    ).key
    claims = {"eat_profile": "x"}
    for key in (p521, rsa):
        with pytest.raises(ConfigError) as info:
            sign_ear(claims, key)
        assert info.value.code == "ear.key_invalid"
        with pytest.raises(ConfigError):
            private_key_to_pem(key)
    with pytest.raises(ConfigError):
        generate_ec_key("P-521")
