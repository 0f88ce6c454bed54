"""Key rotation: a gateway holds several keys at once and opens with whichever key id a request names."""

from __future__ import annotations

import struct

import pytest

from attestgw.bhttp import Request, Response, decode_request, decode_response, encode_request, encode_response
from attestgw.errors import DecryptionError, FormatError
from attestgw.ohttp import (
    ChunkedClientRequest,
    ClientRequest,
    Server,
    ServerKey,
    decode_key_configs,
)


def test_overlapping_keys_each_open_their_own_requests(server_key: ServerKey, xwing_key: ServerKey) -> None:
    new_key = ServerKey.generate(2)
    server = Server([server_key, new_key, xwing_key])
    configs = decode_key_configs(server.key_configs())
    assert [c.key_id for c in configs] == [1, 2, 7]
    for config in configs:
        bhttp = encode_request(
            Request(b"POST", b"https", b"w", b"/v1/embeddings", content=b"%d" % config.key_id)
        )
        sealed, opener = ClientRequest(config).seal(bhttp)
        assert sealed[0] == config.key_id
        plaintext, sealer = server.open_request(sealed)
        assert decode_request(plaintext).content == b"%d" % config.key_id
        assert decode_response(opener.open(sealer.seal(encode_response(Response(200))))).status == 200


def test_retired_key_and_unknown_key_ids_are_refused(server_key: ServerKey) -> None:
    server = Server([server_key, ServerKey.generate(2)])
    old_request, _ = ClientRequest(server_key.config).seal(b"made before rotation")
    server.remove_key(1)
    with pytest.raises(DecryptionError) as err:
        server.open_request(old_request)
    assert err.value.code == "ohttp.unknown_key_id"
    unknown = bytes([9]) + old_request[1:]
    with pytest.raises(DecryptionError) as err:
        server.open_request(unknown)
    assert err.value.code == "ohttp.unknown_key_id"


def test_a_request_naming_the_right_key_id_with_another_kem_is_unknown(server_key: ServerKey) -> None:
    server = Server([server_key])
    sealed, _ = ClientRequest(server_key.config).seal(b"x")
    other_kem = sealed[:1] + struct.pack(">H", 0x647A) + sealed[3:]
    with pytest.raises(DecryptionError) as err:
        server.open_request(other_kem)
    assert err.value.code == "ohttp.unknown_key_id"


def test_chunked_requests_use_the_named_key_too(server_key: ServerKey, xwing_key: ServerKey) -> None:
    server = Server([server_key, xwing_key])
    request = ChunkedClientRequest(xwing_key.config)
    body = request.seal_chunk(b"post-quantum ") + request.seal_final(b"prompt")[0]
    assert server.open_chunked_request(body)[0] == b"post-quantum prompt"


def test_key_ids_are_unique_and_a_server_keeps_one_key(server_key: ServerKey) -> None:
    server = Server([server_key])
    with pytest.raises(FormatError) as err:
        server.add_key(ServerKey.generate(1))
    assert err.value.code == "ohttp.key_config_invalid"
    with pytest.raises(FormatError):
        server.remove_key(1)  # the last key
    with pytest.raises(FormatError):
        Server([])
    server.add_key(ServerKey.generate(2))
    server.remove_key(1)
    assert [k.key_id for k in server.keys] == [2]


def test_server_key_refuses_a_mismatched_private_key(server_key: ServerKey) -> None:
    other = ServerKey.generate(1)
    with pytest.raises(FormatError) as err:
        ServerKey(server_key.config, other._private_key)
    assert err.value.code == "ohttp.key_config_invalid"
