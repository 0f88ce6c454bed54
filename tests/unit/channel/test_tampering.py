"""Every way a relay can damage a sealed message is refused, each with its own stable code."""

from __future__ import annotations

import struct

import pytest

from attestgw.bhttp import encode_varint
from attestgw.errors import AttestgwError, DecryptionError, FormatError
from attestgw.ohttp import ChunkedClientRequest, ClientRequest, Server, ServerKey


def _code(fn: object, *args: object) -> str:
    assert callable(fn)
    with pytest.raises(AttestgwError) as err:
        fn(*args)
    return err.value.code


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# -- single-shot OHTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["ciphertext", "tag", "enc"])
def test_tampered_request_is_decrypt_failed(server: Server, server_key: ServerKey, where: str) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"a prompt")
    index = {"ciphertext": 40, "tag": len(sealed) - 1, "enc": 10}[where]
    assert _code(server.open_request, _flip(sealed, index)) == "ohttp.decrypt_failed"


def test_request_header_naming_a_pair_the_key_does_not_offer(server: Server, server_key: ServerKey) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"x")
    relabelled = sealed[:5] + struct.pack(">H", 0x0002) + sealed[7:]  # AES-256-GCM: not offered
    assert _code(server.open_request, relabelled) == "hpke.suite_unsupported"


def test_request_with_an_aead_it_was_not_sealed_with(server: Server, server_key: ServerKey) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"x")
    relabelled = sealed[:5] + struct.pack(">H", 0x0003) + sealed[7:]  # offered, but info differs
    assert _code(server.open_request, relabelled) == "ohttp.decrypt_failed"


@pytest.mark.parametrize("length", [0, 6, 7, 38, 39 + 15])
def test_short_request_is_malformed(server: Server, server_key: ServerKey, length: int) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"")
    assert _code(server.open_request, sealed[:length]) == "ohttp.malformed"


def test_tampered_or_short_response(server: Server, server_key: ServerKey) -> None:
    for mutate, code in (
        (lambda r: _flip(r, 3), "ohttp.decrypt_failed"),  # response nonce
        (lambda r: _flip(r, len(r) - 1), "ohttp.decrypt_failed"),  # tag
        (lambda r: r[:31], "ohttp.malformed"),  # shorter than nonce + tag
    ):
        sealed, opener = ClientRequest(server_key.config).seal(b"q")
        _, sealer = server.open_request(sealed)
        assert _code(opener.open, mutate(sealer.seal(b"an answer"))) == code


# -- chunked OHTTP -------------------------------------------------------------------------------


def _chunked_request(key: ServerKey, parts: list[bytes]) -> tuple[list[bytes], bytes]:
    request = ChunkedClientRequest(key.config)
    chunks = [request.seal_chunk(p) for p in parts[:-1]]
    final, _ = request.seal_final(parts[-1])
    return chunks, final


def test_tampered_request_chunk_is_chunk_invalid(server: Server, server_key: ServerKey) -> None:
    chunks, final = _chunked_request(server_key, [b"one", b"two", b"three"])
    body = b"".join(chunks) + final
    assert _code(server.open_chunked_request, _flip(body, len(chunks[0]) + 3)) == "ohttp.chunk_invalid"


def test_reordered_request_chunks_are_chunk_invalid(server: Server, server_key: ServerKey) -> None:
    chunks, final = _chunked_request(server_key, [b"one", b"two", b"three"])
    head = chunks[0][:39]
    body = head + chunks[1] + chunks[0][39:] + final
    assert _code(server.open_chunked_request, body) == "ohttp.chunk_invalid"


def test_non_final_chunk_presented_as_final_is_chunk_invalid(server: Server, server_key: ServerKey) -> None:
    chunks, _ = _chunked_request(server_key, [b"one", b"two", b"three"])
    first = chunks[0]
    sealed_one = first[40:]  # header 7 + enc 32, then a 1-byte length
    assert first[39] == len(sealed_one)
    assert _code(server.open_chunked_request, first[:39] + b"\x00" + sealed_one) == "ohttp.chunk_invalid"


def test_final_chunk_presented_as_non_final_then_stream_ends(server: Server, server_key: ServerKey) -> None:
    chunks, final = _chunked_request(server_key, [b"one", b"last"])
    sealed_final = final[1:]
    body = chunks[0] + encode_varint(len(sealed_final)) + sealed_final
    assert _code(server.open_chunked_request, body) == "ohttp.chunk_invalid"


def test_request_stream_cut_anywhere_before_the_final_chunk_is_truncated(
    server: Server, server_key: ServerKey
) -> None:
    chunks, final = _chunked_request(server_key, [b"one", b"two", b"three"])
    body = b"".join(chunks)
    for cut in (0, 5, 39, 40, 45, len(body)):
        assert _code(server.open_chunked_request, body[:cut]) == "ohttp.truncated", cut
    # Chunks that authenticated consumed this enc: resending the same stream is a replay.
    assert _code(server.open_chunked_request, body + final) == "ohttp.replay"
    # cut inside the final chunk's tag: the marker arrived but not a whole tag
    chunks, final = _chunked_request(server_key, [b"only"])
    assert final[39] == 0
    assert len(final) == 40 + 4 + 16
    assert _code(server.open_chunked_request, final[:50]) == "ohttp.truncated"


def test_empty_non_final_chunk_is_chunk_invalid(server: Server, server_key: ServerKey) -> None:
    """A sender that sealed an empty non-final chunk (which attestgw never does) is refused."""
    request = ChunkedClientRequest(server_key.config)
    prefix = request.seal_chunk(b"x")
    header, first = prefix[:39], prefix[39:]
    # Seal an empty plaintext directly with the context, as a non-conforming sender would.
    empty = request._context.seal(b"")
    final, _ = request.seal_final(b"end")
    body = header + first + encode_varint(len(empty)) + empty + final
    assert _code(server.open_chunked_request, body) == "ohttp.chunk_invalid"


def _chunked_response(server: Server, key: ServerKey, parts: list[bytes]) -> tuple[object, list[bytes]]:
    request = ChunkedClientRequest(key.config)
    final, opener = request.seal_final(b"q")
    _, sealer = server.open_chunked_request(final)
    out = [sealer.seal_chunk(p) for p in parts[:-1]]
    out.append(sealer.seal_final(parts[-1]))
    return opener, out


def test_response_stream_refusals_are_distinct(server: Server, server_key: ServerKey) -> None:
    opener, out = _chunked_response(server, server_key, [b"tok1", b"tok2", b"end"])
    body = b"".join(out)
    assert opener.feed(body[:-5]) == [b"tok1", b"tok2"]  # type: ignore[attr-defined]
    assert opener.feed(body[-5:]) == []  # type: ignore[attr-defined]
    assert opener.finish() == b"end"  # type: ignore[attr-defined]

    opener, out = _chunked_response(server, server_key, [b"tok1", b"tok2", b"end"])
    assert _code(opener.open_all, b"".join(out[:-1])) == "ohttp.truncated"  # type: ignore[attr-defined]

    opener, out = _chunked_response(server, server_key, [b"tok1", b"tok2", b"end"])
    tampered = out[0][:20] + bytes([out[0][20] ^ 1]) + out[0][21:]
    assert _code(opener.open_all, tampered + b"".join(out[1:])) == "ohttp.chunk_invalid"  # type: ignore[attr-defined]

    opener, out = _chunked_response(server, server_key, [b"tok1", b"tok2", b"end"])
    nonce, first = out[0][:16], out[0][16:]
    swapped = nonce + out[1] + first + out[2]
    assert _code(opener.open_all, swapped) == "ohttp.chunk_invalid"  # type: ignore[attr-defined]

    opener, _ = _chunked_response(server, server_key, [b"end"])
    assert _code(opener.finish) == "ohttp.truncated"  # type: ignore[attr-defined]


def test_a_broken_stream_stays_broken(server: Server, server_key: ServerKey) -> None:
    opener, out = _chunked_response(server, server_key, [b"tok1", b"end"])
    bad = out[0][:-1] + bytes([out[0][-1] ^ 1])
    with pytest.raises(DecryptionError):
        opener.feed(bad)  # type: ignore[attr-defined]
    assert _code(opener.feed, out[1]) == "ohttp.already_used"  # type: ignore[attr-defined]


def test_oversized_chunk_length_is_refused_early(server: Server, server_key: ServerKey) -> None:
    reader = server.chunked_request_reader()
    request = ChunkedClientRequest(server_key.config)
    header = request.seal_chunk(b"x")[:39]
    with pytest.raises(FormatError) as err:
        reader.feed(header + encode_varint(server.max_chunk + 1))
    assert err.value.code == "ohttp.malformed"
