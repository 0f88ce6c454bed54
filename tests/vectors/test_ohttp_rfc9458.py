"""RFC 9458 Appendix A reproduced byte for byte, as the gateway and as the client.

The client side needs the vector's ephemeral key and the gateway side its response nonce; both are
injected through the test-only keyword arguments (``_test_randomness``, ``_test_response_nonce``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from attestgw.bhttp import Request, Response, decode_request, decode_response, encode_request, encode_response
from attestgw.crypto.hpke import KEM_X25519_HKDF_SHA256, kem_by_id
from attestgw.ohttp import ClientRequest, KeyConfig, Server, ServerKey, decode_key_configs, encode_key_configs
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

H = bytes.fromhex


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(corpus_file("ohttp/rfc9458-appendix-a.json").read_text())
    return data


def _server(v: dict[str, str]) -> Server:
    private = kem_by_id(KEM_X25519_HKDF_SHA256).private_key_from_bytes(H(v["server_x25519_secret_key"]))
    return Server([ServerKey(KeyConfig.decode(H(v["key_config"])), private)])


def test_key_config_round_trips(example: dict[str, Any]) -> None:
    v = example["vectors"]
    config = KeyConfig.decode(H(v["key_config"]))
    assert config.key_id == example["key_id"] == 1
    assert config.kem_id == 0x0020
    assert [(p.kdf_id, p.aead_id) for p in config.symmetric] == [(1, 1), (1, 3)]
    assert config.encode().hex() == v["key_config"]
    # As application/ohttp-keys: a 2-byte length prefix in front of the config.
    body = encode_key_configs([config])
    assert body == len(H(v["key_config"])).to_bytes(2, "big") + H(v["key_config"])
    assert decode_key_configs(body) == (config,)


def test_gateway_opens_request_and_seals_response_byte_exact(example: dict[str, Any]) -> None:
    v = example["vectors"]
    request, sealer = _server(v).open_request(H(v["encapsulated_request"]))
    assert request.hex() == v["request_bhttp"]
    assert decode_request(request) == Request(b"GET", b"https", b"example.com", b"/")
    response = sealer.seal(H(v["response_bhttp"]), _test_response_nonce=H(example["response_nonce"]))
    assert response.hex() == v["encapsulated_response"]


def test_client_seals_request_and_opens_response_byte_exact(example: dict[str, Any]) -> None:
    v = example["vectors"]
    config = KeyConfig.decode(H(v["key_config"]))
    bhttp = encode_request(Request(b"GET", b"https", b"example.com", b"/"))
    # Our encoder writes every section; the example's request ends after the path (truncated).
    assert decode_request(bhttp) == decode_request(H(v["request_bhttp"]))
    sealed, opener = ClientRequest(config).seal(
        H(v["request_bhttp"]), _test_randomness=H(v["client_ephemeral_secret_key"])
    )
    assert sealed.hex() == v["encapsulated_request"]
    assert sealed[7:39].hex() == v["client_ephemeral_public_key"]
    response = opener.open(H(v["encapsulated_response"]))
    assert response.hex() == v["response_bhttp"]
    assert decode_response(response) == Response(200)
    assert encode_response(Response(200)) == H(v["response_bhttp"]) + b"\x00\x00\x00"
