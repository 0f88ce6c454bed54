"""The chunked OHTTP example of draft-ietf-ohai-chunked-ohttp, reproduced both ways.

Request: header, ``enc``, a 12-byte chunk, a 13-byte chunk, then an empty final chunk (length 0,
AAD "final"). Response: a 16-byte nonce, 1-byte and 2-byte chunks, an empty final chunk; chunk
nonces are the base nonce XOR 0, 1, 2 (the corpus lists them). Dropping the final chunk must be
detected as truncation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from attestgw.crypto.hpke import KEM_X25519_HKDF_SHA256, kem_by_id
from attestgw.errors import DecryptionError
from attestgw.ohttp import ChunkedClientRequest, KeyConfig, Server, ServerKey
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

H = bytes.fromhex


@pytest.fixture(scope="module")
def v() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(corpus_file("ohttp/chunked-ohttp-example.json").read_text())
    return data["vectors"]  # type: ignore[no-any-return]


def _server(v: dict[str, Any]) -> Server:
    private = kem_by_id(KEM_X25519_HKDF_SHA256).private_key_from_bytes(H(v["server_x25519_secret_key"]))
    return Server([ServerKey(KeyConfig.decode(H(v["key_config"])), private)])


def test_example_lines_are_the_whole_messages(v: dict[str, Any]) -> None:
    assert "".join(v["encapsulated_request_lines"]) == v["encapsulated_request"]
    assert "".join(v["encapsulated_response_lines"]) == v["encapsulated_response"]
    # The final chunks are marked by a zero length, as the draft says.
    assert v["encapsulated_request_lines"][-1].startswith("00")
    assert v["encapsulated_response_lines"][-1].startswith("00")


def test_client_reproduces_the_chunked_request(v: dict[str, Any]) -> None:
    config = KeyConfig.decode(H(v["key_config"]))
    request = ChunkedClientRequest(config, _test_randomness=H(v["client_ephemeral_secret_key"]))
    bhttp = H(v["request_bhttp"])
    first = request.seal_chunk(bhttp[:12])
    second = request.seal_chunk(bhttp[12:])
    final, opener = request.seal_final()
    lines = v["encapsulated_request_lines"]
    assert first.hex() == "".join(lines[:3])
    assert second.hex() == lines[3]
    assert final.hex() == lines[4]
    # and the client opens the example response, chunk by chunk
    response_lines = [H(line) for line in v["encapsulated_response_lines"]]
    chunks = [opener.feed(line) for line in response_lines]
    assert chunks == [[], [b"\x01"], [b"\x40\xc8"], []]
    assert opener.finish() == b""


def test_gateway_opens_the_request_and_reproduces_the_response(v: dict[str, Any]) -> None:
    request, sealer = _server(v).open_chunked_request(H(v["encapsulated_request"]))
    assert request.hex() == v["request_bhttp"]
    nonce = H(v["encapsulated_response_lines"][0])
    response = sealer.seal_chunk(b"\x01", _test_response_nonce=nonce)
    response += sealer.seal_chunk(b"\x40\xc8")
    response += sealer.seal_final(b"")
    assert response.hex() == v["encapsulated_response"]
    assert H(v["response_bhttp"]) == b"\x01\x40\xc8"


def test_gateway_reads_the_request_byte_by_byte(v: dict[str, Any]) -> None:
    reader = _server(v).chunked_request_reader()
    chunks: list[bytes] = []
    for byte in H(v["encapsulated_request"]):
        chunks += reader.feed(bytes([byte]))
    final, _ = reader.finish()
    assert b"".join([*chunks, final]).hex() == v["request_bhttp"]
    assert [len(c) for c in chunks] == [12, 13]


def test_non_minimal_chunk_lengths_are_accepted(v: dict[str, Any]) -> None:
    """Lengths are not authenticated: a transport may re-encode them (here as 2-byte varints)."""
    lines = [H(x) for x in v["encapsulated_request_lines"]]
    reencoded = lines[0] + lines[1]
    for line in lines[2:4]:
        reencoded += (0x4000 | line[0]).to_bytes(2, "big") + line[1:]
    reencoded += lines[4]
    assert len(reencoded) == len(H(v["encapsulated_request"])) + 2
    request, _ = _server(v).open_chunked_request(reencoded)
    assert request.hex() == v["request_bhttp"]


def test_dropping_the_final_chunk_is_truncation(v: dict[str, Any]) -> None:
    lines = [H(x) for x in v["encapsulated_request_lines"]]
    with pytest.raises(DecryptionError) as err:
        _server(v).open_chunked_request(b"".join(lines[:4]))
    assert err.value.code == "ohttp.truncated"
    config = KeyConfig.decode(H(v["key_config"]))
    request = ChunkedClientRequest(config, _test_randomness=H(v["client_ephemeral_secret_key"]))
    _, opener = request.seal_final(H(v["request_bhttp"]))
    response_lines = [H(x) for x in v["encapsulated_response_lines"]]
    opener.feed(b"".join(response_lines[:3]))
    with pytest.raises(DecryptionError) as err:
        opener.finish()
    assert err.value.code == "ohttp.truncated"
