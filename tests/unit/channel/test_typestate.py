"""One-shot objects: a request seals once, its response opens once, a sealer seals once."""

from __future__ import annotations

import pytest

from attestgw.errors import DecryptionError
from attestgw.ohttp import ChunkedClientRequest, ClientRequest, Server, ServerKey


def _already_used(fn: object, *args: object) -> None:
    assert callable(fn)
    with pytest.raises(DecryptionError) as err:
        fn(*args)
    assert err.value.code == "ohttp.already_used"


def test_full_exchange_then_every_object_refuses_reuse(server: Server, server_key: ServerKey) -> None:
    request = ClientRequest(server_key.config)
    sealed, opener = request.seal(b"prompt")
    _already_used(request.seal, b"prompt again")

    plaintext, sealer = server.open_request(sealed)
    assert plaintext == b"prompt"
    response = sealer.seal(b"answer")
    _already_used(sealer.seal, b"another answer")

    assert opener.open(response) == b"answer"
    _already_used(opener.open, response)


def test_a_failed_open_still_consumes_the_opener(server: Server, server_key: ServerKey) -> None:
    sealed, opener = ClientRequest(server_key.config).seal(b"prompt")
    _, sealer = server.open_request(sealed)
    response = sealer.seal(b"answer")
    forged = response[:-1] + bytes([response[-1] ^ 1])
    with pytest.raises(DecryptionError) as err:
        opener.open(forged)
    assert err.value.code == "ohttp.decrypt_failed"
    _already_used(opener.open, response)  # no second try, even with the genuine response


def test_two_requests_are_independent(server: Server, server_key: ServerKey) -> None:
    first, open_first = ClientRequest(server_key.config).seal(b"one")
    second, open_second = ClientRequest(server_key.config).seal(b"two")
    assert first[7:39] != second[7:39]  # fresh ephemeral keys
    _, seal_first = server.open_request(first)
    _, seal_second = server.open_request(second)
    # each response opens only with its own request's opener
    response_one = seal_first.seal(b"for one")
    with pytest.raises(DecryptionError):
        open_second.open(response_one)
    assert open_first.open(response_one) == b"for one"
    assert seal_second.used is False


def test_chunked_objects_refuse_use_after_finishing(server: Server, server_key: ServerKey) -> None:
    request = ChunkedClientRequest(server_key.config)
    body = request.seal_chunk(b"part one")
    final, opener = request.seal_final(b"part two")
    _already_used(request.seal_chunk, b"late")
    _already_used(request.seal_final, b"late")

    reader = server.chunked_request_reader()
    assert reader.feed(body + final) == [b"part one"]
    last, sealer = reader.finish()
    assert last == b"part two"
    _already_used(reader.feed, b"x")
    _already_used(reader.finish)

    out = sealer.seal_chunk(b"token ") + sealer.seal_final(b"done")
    _already_used(sealer.seal_chunk, b"late")
    _already_used(sealer.seal_final, b"late")

    assert opener.feed(out) == [b"token "]
    assert opener.finish() == b"done"
    _already_used(opener.feed, b"x")
    _already_used(opener.finish)
