"""The transports' sans-I/O core: sealing, opening, streams and receipts, against in-process keys."""

from __future__ import annotations

import hashlib
import json
import os

import httpx
import pytest

from attestgw.bhttp import decode_request, field_values
from attestgw.client import AttestedSession, verify_bundle
from attestgw.client._exchange import StreamOpener, inner_request, open_one_shot, seal, wants_stream
from attestgw.client._problems import refusal
from attestgw.clock import utcnow
from attestgw.errors import DecryptionError, FormatError, VerificationError
from attestgw.ohttp import ChunkedResponseOpener, ClientResponseOpener
from attestgw.receipt import ReceiptSigner
from tests.unit.client.simulated_worker import SimulatedWorkerKeys

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def session(worker: SimulatedWorkerKeys) -> AttestedSession:
    nonce = os.urandom(32)
    return verify_bundle(worker.bundle(nonce), nonce, worker.policy(), url="http://w.test/", at=utcnow())


def _chat(stream: bool = False) -> tuple[httpx.Request, bytes]:
    request = httpx.Request(
        "POST",
        "http://worker/v1/chat/completions?x=1",
        json={**CHAT, "stream": stream},
        headers={"Authorization": "Bearer unused", "Connection": "keep-alive"},
    )
    return request, request.read()


def test_the_inner_request_is_the_callers_request_without_hop_by_hop_fields() -> None:
    request, content = _chat()
    inner = decode_request(inner_request(request, content))
    assert (inner.method, inner.scheme, inner.authority, inner.path) == (
        b"POST",
        b"https",
        b"worker",
        b"/v1/chat/completions?x=1",
    )
    assert inner.content == content
    names = [f.name for f in inner.headers]
    assert b"authorization" in names
    assert b"content-type" in names
    assert not {b"host", b"connection", b"content-length", b"accept-encoding"} & set(names)
    assert len(field_values(inner.headers, b"date")) == 1  # for the worker's replay horizon


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"stream": true}', "application/json", True),
        (b'{"stream": false}', "application/json", False),
        (b'{"stream": "true"}', "application/json", False),
        (b'{"stream": true}', "text/plain", False),
        (b"[true]", "application/json", False),
        (b"not json", "application/json", False),
    ],
)
def test_only_a_json_body_with_stream_true_streams(body: bytes, content_type: str, expected: bool) -> None:
    request = httpx.Request("POST", "http://w/v1/x", content=body, headers={"content-type": content_type})
    assert wants_stream(request, body) is expected


def test_one_shot_round_trip_with_a_verified_receipt(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    request, content = _chat()
    bhttp = inner_request(request, content)
    sealed, opener = seal(session, bhttp, streaming=False)
    assert sealed.url == "http://w.test/v1/models/tiny/ohttp"
    assert sealed.content_type == "message/ohttp-req"
    assert isinstance(opener, ClientResponseOpener)
    inner, answer = worker.answer(sealed.body, content=b'{"id":"x"}')
    assert inner.content == content
    opened = open_one_shot(opener, answer, session, sealed)
    assert opened.status == 200
    assert opened.content == b'{"id":"x"}'
    assert opened.receipt.request_sha256 == hashlib.sha256(bhttp).hexdigest()
    assert opened.receipt.evidence_digest == session.instance_digest.hex()


RECEIPT_REFUSALS = [
    ("no receipt", {"omit_receipt": True}, "receipt.missing"),
    ("signed by another key", {"signer": ReceiptSigner.generate()}, "receipt.signature_invalid"),
    ("another request", {"request_sha256": "00" * 32}, "receipt.mismatch"),
    ("another response", {"response_sha256": "00" * 32}, "receipt.mismatch"),
    ("another instance", {"evidence_digest": "00" * 32}, "receipt.mismatch"),
    ("another key id", {"key_id": 7}, "receipt.mismatch"),
    ("an unannounced model", {"model": "big"}, "receipt.mismatch"),
    ("another model digest", {"model_digest": "00" * 32}, "receipt.mismatch"),
]


@pytest.mark.parametrize(
    ("case", "override", "code"), RECEIPT_REFUSALS, ids=[c for c, _, _ in RECEIPT_REFUSALS]
)
def test_a_receipt_that_does_not_match_is_refused(
    case: str, override: dict[str, object], code: str, worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    request, content = _chat()
    sealed, opener = seal(session, inner_request(request, content), streaming=False)
    assert isinstance(opener, ClientResponseOpener)
    _, answer = worker.answer(sealed.body, **override)
    with pytest.raises((VerificationError, FormatError)) as err:
        open_one_shot(opener, answer, session, sealed)
    assert err.value.code == code, case


def test_a_tampered_one_shot_response_does_not_open(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    request, content = _chat()
    sealed, opener = seal(session, inner_request(request, content), streaming=False)
    assert isinstance(opener, ClientResponseOpener)
    _, answer = worker.answer(sealed.body)
    tampered = bytearray(answer)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError) as err:
        open_one_shot(opener, bytes(tampered), session, sealed)
    assert err.value.code == "ohttp.decrypt_failed"


EVENTS = [b'data: {"n": 1}\n\n', b'data: {"n": 2}\n\n', b"data: [DONE]\n\n"]


def _stream(
    worker: SimulatedWorkerKeys, session: AttestedSession, **override: object
) -> tuple[StreamOpener, list[bytes]]:
    request, content = _chat(stream=True)
    bhttp = inner_request(request, content)
    sealed, opener = seal(session, bhttp, streaming=True)
    assert sealed.url == "http://w.test/v1/models/tiny/ohttp-chunked"
    assert isinstance(opener, ChunkedResponseOpener)
    reader = worker.server.chunked_request_reader()
    assert reader.feed(sealed.body) == []
    plaintext, sealer = reader.finish()
    assert plaintext == bhttp
    return StreamOpener(opener, session, sealed), worker.stream_answer(sealer, plaintext, EVENTS, **override)


def test_a_stream_is_released_chunk_by_chunk_then_its_receipt_checked(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    opener, wire = _stream(worker, session)
    got: list[bytes] = []
    joined = b"".join(wire[:-1])
    for i in range(0, len(joined), 7):  # any split of the bytes
        got += opener.feed(joined[i : i + 7])
        if opener.head is not None:
            assert opener.head_pairs()[0] == 200
    # every event is released as it authenticates, except the end marker [DONE]: consumers stop
    # reading at it, so it waits for the final chunk and the receipt
    assert got == EVENTS[:-1]
    assert opener.receipt is None
    assert opener.feed(wire[-1]) == []
    assert opener.finish() == [EVENTS[-1]]
    assert opener.receipt is not None
    assert opener.receipt.response_sha256 == hashlib.sha256(b"".join(EVENTS)).hexdigest()


def test_a_stream_without_its_final_chunk_is_truncated(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    opener, wire = _stream(worker, session)
    for piece in wire[:-1]:
        opener.feed(piece)
    with pytest.raises(DecryptionError) as err:
        opener.finish()
    assert err.value.code == "ohttp.truncated"
    assert opener.receipt is None


def test_a_tampered_chunk_is_refused_where_it_arrives(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    opener, wire = _stream(worker, session)
    opener.feed(wire[0])
    bad = bytearray(wire[1])
    bad[-1] ^= 1
    with pytest.raises(DecryptionError) as err:
        opener.feed(bytes(bad))
    assert err.value.code == "ohttp.chunk_invalid"


def test_a_bad_stream_receipt_withholds_the_final_chunks_body(
    worker: SimulatedWorkerKeys, session: AttestedSession
) -> None:
    opener, wire = _stream(worker, session, response_sha256="00" * 32)
    for piece in wire:
        opener.feed(piece)
    with pytest.raises(VerificationError) as err:
        opener.finish()
    assert err.value.code == "receipt.mismatch"


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"code": "ohttp.replay"}, DecryptionError, "ohttp.replay"),
        (422, {"code": "ohttp.unknown_key_id"}, DecryptionError, "ohttp.unknown_key_id"),
        (400, {"code": "ohttp.decrypt_failed"}, DecryptionError, "ohttp.decrypt_failed"),
        (400, {"code": "bhttp.malformed"}, FormatError, "bhttp.malformed"),
        (503, {"code": "something.new"}, FormatError, "worker.refused"),
        (502, "<html>bad gateway</html>", FormatError, "worker.refused"),
    ],
)
def test_outer_refusals_keep_the_workers_code(status: int, body: object, cls: type, code: str) -> None:
    data = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
    content_type = "application/problem+json" if isinstance(body, dict) else "text/html"
    error = refusal(status, content_type, data)
    assert isinstance(error, cls)
    assert error.code == code
