"""POST /ohttp and /ohttp-chunked over a real uvicorn socket, with a real OHTTP client."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from email.utils import formatdate

import httpx
import pytest

from attestgw.bhttp import Field, decode_response
from attestgw.bhttp.stream import StreamBody, StreamEvent
from attestgw.crypto.hpke import KEM_XWING, xwing_available
from attestgw.errors import DecryptionError
from attestgw.ohttp import MEDIA_TYPE_CHUNKED_REQUEST, MEDIA_TYPE_REQUEST, ClientRequest
from attestgw.receipt import Receipt, verify_receipt
from attestgw.worker.problems import DATE_PROBLEM_TYPE, KEY_PROBLEM_TYPE
from tests.integration.worker.channel import (
    chat,
    chunked_wire,
    inner_request,
    post_chunked,
    post_sealed,
    problem,
    receipt_in,
    receipt_key,
)
from tests.integration.worker.conftest import MODEL_DIGEST, RunningWorker
from tests.integration.worker.toy_inner import MODEL


def _check_receipt(
    receipt: Receipt, worker: RunningWorker, request: bytes, content: bytes, key_id: int
) -> None:
    assert receipt.request_sha256 == hashlib.sha256(request).hexdigest()
    assert receipt.response_sha256 == hashlib.sha256(content).hexdigest()
    assert receipt.model == MODEL
    assert receipt.model_digest == MODEL_DIGEST
    assert receipt.evidence_digest == worker.identity.evidence_digest
    assert receipt.key_id == key_id
    assert abs(receipt.time - time.time()) < 60


def test_one_sealed_request(worker: RunningWorker, client: httpx.Client) -> None:
    bundle = worker.bundle(client)
    config = worker.configs(client)[0]
    request = inner_request(chat(MODEL))
    response, opener, _ = post_sealed(client, worker.url, config, request)
    assert response.status_code == 200
    assert response.headers["content-type"] == "message/ohttp-res"

    inner = decode_response(opener.open(response.content))
    assert inner.status == 200
    answer = json.loads(inner.content)
    assert answer["choices"][0]["message"]["content"] == "pong"
    assert answer["echo"] == [{"role": "user", "content": "ping"}]
    assert answer["host"] == "worker.example"  # the Binary HTTP authority became the inner Host
    assert worker.toy.seen == [("POST", "/v1/chat/completions")]

    receipt = receipt_in(inner.headers)
    verify_receipt(receipt, receipt_key(bundle))
    _check_receipt(receipt, worker, request, inner.content, config.key_id)


def test_one_streamed_request_arrives_event_by_event(worker: RunningWorker, client: httpx.Client) -> None:
    bundle = worker.bundle(client)
    config = worker.configs(client)[0]
    request = inner_request(chat(MODEL, stream=True))

    def on_event(event: StreamEvent) -> None:
        # The first event reached us while the model was still "generating": nothing was buffered.
        if isinstance(event, StreamBody):
            worker.toy.gate.set()

    streamed = post_chunked(client, worker.url, config, request, on_event=on_event)
    assert streamed.head.status == 200
    assert (Field(b"content-type", b"text/event-stream; charset=utf-8")) in streamed.head.fields
    bodies = streamed.bodies
    assert b"gate-timeout" not in b"".join(bodies)
    words = [json.loads(b[len(b"data: ") :])["choices"][0]["delta"]["content"] for b in bodies[:-1]]
    assert words == ["one", "two", "three"]
    assert bodies[-1] == b"data: [DONE]\n\n"

    receipt = receipt_in(streamed.end.trailers)  # the receipt rides in the final chunk's trailer
    verify_receipt(receipt, receipt_key(bundle))
    _check_receipt(receipt, worker, request, b"".join(bodies), config.key_id)


def test_replayed_requests_are_refused(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    response, _, sealed = post_sealed(client, worker.url, config, inner_request(chat(MODEL)))
    assert response.status_code == 200
    replay = client.post(worker.url + "/ohttp", content=sealed, headers={"content-type": MEDIA_TYPE_REQUEST})
    assert replay.status_code == 400
    assert problem(replay)["code"] == "ohttp.replay"

    wire, _ = chunked_wire(config, inner_request(chat(MODEL, stream=True)))
    worker.toy.gate.set()
    headers = {"content-type": MEDIA_TYPE_CHUNKED_REQUEST}
    assert client.post(worker.url + "/ohttp-chunked", content=wire, headers=headers).status_code == 200
    chunked_replay = client.post(worker.url + "/ohttp-chunked", content=wire, headers=headers)
    assert chunked_replay.status_code == 400
    assert problem(chunked_replay)["code"] == "ohttp.replay"
    assert len(worker.toy.seen) == 2  # each request reached the model once


def test_tampered_ciphertext_is_refused(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    sealed, _ = ClientRequest(config).seal(inner_request(chat(MODEL)))
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    response = client.post(
        worker.url + "/ohttp", content=tampered, headers={"content-type": MEDIA_TYPE_REQUEST}
    )
    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "ohttp.decrypt_failed"
    assert body["detail"] == "an encapsulated OHTTP request or response did not decrypt"

    wire, _ = chunked_wire(config, inner_request(chat(MODEL, stream=True)))
    flipped = wire[:-1] + bytes([wire[-1] ^ 1])
    chunked = client.post(
        worker.url + "/ohttp-chunked", content=flipped, headers={"content-type": MEDIA_TYPE_CHUNKED_REQUEST}
    )
    assert chunked.status_code == 400
    assert problem(chunked)["code"] == "ohttp.chunk_invalid"
    truncated = client.post(
        worker.url + "/ohttp-chunked", content=wire[:60], headers={"content-type": MEDIA_TYPE_CHUNKED_REQUEST}
    )
    assert truncated.status_code == 400
    assert problem(truncated)["code"] == "ohttp.truncated"
    assert worker.toy.seen == []


def test_unknown_key_id_is_refused(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    stranger = dataclasses.replace(config, key_id=99)
    sealed, _ = ClientRequest(stranger).seal(inner_request(chat(MODEL)))
    response = client.post(
        worker.url + "/ohttp", content=sealed, headers={"content-type": MEDIA_TYPE_REQUEST}
    )
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "ohttp.unknown_key_id"
    assert body["type"] == KEY_PROBLEM_TYPE
    assert worker.toy.seen == []


def test_wrong_model_is_refused_inside_the_seal(worker: RunningWorker, client: httpx.Client) -> None:
    bundle = worker.bundle(client)
    config = worker.configs(client)[0]
    for body in (chat("gpt-4o"), {"messages": []}):
        request = inner_request(body)
        response, opener, _ = post_sealed(client, worker.url, config, request)
        assert response.status_code == 200  # opened: the refusal travels sealed
        inner = decode_response(opener.open(response.content))
        assert inner.status == 404
        assert json.loads(inner.content)["error"]["code"] == "worker.model_mismatch"
        receipt = receipt_in(inner.headers)
        verify_receipt(receipt, receipt_key(bundle))
        _check_receipt(receipt, worker, request, inner.content, config.key_id)

    streamed = post_chunked(client, worker.url, config, inner_request(chat("gpt-4o", stream=True)))
    assert streamed.head.status == 404
    assert json.loads(b"".join(streamed.bodies))["error"]["code"] == "worker.model_mismatch"
    verify_receipt(receipt_in(streamed.end.trailers), receipt_key(bundle))
    assert worker.toy.seen == []  # the model never saw them


def test_non_inference_routes_need_no_model(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    response, opener, _ = post_sealed(
        client, worker.url, config, inner_request(path=b"/v1/models", method=b"GET")
    )
    inner = decode_response(opener.open(response.content))
    assert inner.status == 200
    assert json.loads(inner.content)["data"][0]["id"] == MODEL


def test_inner_lifespan_state_and_query_reach_the_inner_app(
    worker: RunningWorker, client: httpx.Client
) -> None:
    config = worker.configs(client)[0]
    request = inner_request(path=b"/state?x=1&y=%20", method=b"GET")
    response, opener, _ = post_sealed(client, worker.url, config, request)
    inner = decode_response(opener.open(response.content))
    assert json.loads(inner.content) == {"greeting": "hello from the inner lifespan", "query": "x=1&y=%20"}


def test_inner_date_outside_the_replay_window_is_refused(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    for offset in (-worker.settings.replay_max_age_s - 60, worker.settings.date_skew_s + 600):
        date = Field(b"date", formatdate(time.time() + offset, usegmt=True).encode())
        response, opener, _ = post_sealed(
            client, worker.url, config, inner_request(chat(MODEL), headers=[date])
        )
        inner = decode_response(opener.open(response.content))
        assert inner.status == 400
        assert json.loads(inner.content)["type"] == DATE_PROBLEM_TYPE
        assert json.loads(inner.content)["code"] == "worker.stale_request"
        assert any(f.name == b"date" for f in inner.headers)  # the worker's clock, for the client to retry
    fresh = Field(b"date", formatdate(time.time(), usegmt=True).encode())
    response, opener, _ = post_sealed(client, worker.url, config, inner_request(chat(MODEL), headers=[fresh]))
    assert decode_response(opener.open(response.content)).status == 200
    assert len(worker.toy.seen) == 1


def test_outer_size_and_media_type_limits(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    big = inner_request({"model": MODEL, "messages": [{"role": "user", "content": "x" * 70_000}]})
    sealed, _ = ClientRequest(config).seal(big)
    too_large = client.post(
        worker.url + "/ohttp", content=sealed, headers={"content-type": MEDIA_TYPE_REQUEST}
    )
    assert too_large.status_code == 413
    assert problem(too_large)["code"] == "worker.request_too_large"

    wire, _ = chunked_wire(config, big)

    def chunks() -> object:  # no content-length: the limit is enforced while the body streams in
        yield wire[:1000]
        yield wire[1000:]

    streamed = client.post(
        worker.url + "/ohttp-chunked", content=chunks(), headers={"content-type": MEDIA_TYPE_CHUNKED_REQUEST}
    )
    assert streamed.status_code == 413

    small, _ = ClientRequest(config).seal(inner_request(chat(MODEL)))
    wrong_type = client.post(
        worker.url + "/ohttp", content=small, headers={"content-type": "application/json"}
    )
    assert wrong_type.status_code == 415
    assert problem(wrong_type)["code"] == "worker.unsupported_media_type"
    assert worker.toy.seen == []


def test_malformed_inner_request_is_an_outer_problem(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    response, _, _ = post_sealed(client, worker.url, config, b"\x00\x05hello-not-bhttp")
    assert response.status_code == 400
    assert problem(response)["code"].startswith("bhttp.")


def test_inner_app_failure_before_the_response_is_a_sealed_500(
    worker: RunningWorker, client: httpx.Client
) -> None:
    bundle = worker.bundle(client)
    config = worker.configs(client)[0]
    response, opener, _ = post_sealed(client, worker.url, config, inner_request(path=b"/boom", method=b"GET"))
    assert response.status_code == 200
    inner = decode_response(opener.open(response.content))
    assert inner.status == 500
    verify_receipt(receipt_in(inner.headers), receipt_key(bundle))
    assert b"crashed" not in inner.content  # no traceback leaves the worker, even sealed


def test_inner_failure_mid_stream_is_a_truncated_stream(worker: RunningWorker, client: httpx.Client) -> None:
    config = worker.configs(client)[0]
    request = inner_request({"model": MODEL, "prompt": "hi", "stream": True}, path=b"/v1/completions")
    seen: list[StreamEvent] = []
    with pytest.raises(DecryptionError) as info:
        post_chunked(client, worker.url, config, request, on_event=seen.append)
    assert info.value.code == "ohttp.truncated"
    # The client got the part that was produced, and no final chunk that would make it look complete.
    assert [e.data for e in seen if isinstance(e, StreamBody)] == [b'data: {"choices":[{"text":"half"}]}\n\n']


@pytest.mark.skipif(not xwing_available(), reason="the installed cryptography has no ML-KEM-768")
def test_post_quantum_key_config(worker: RunningWorker, client: httpx.Client) -> None:
    configs = worker.configs(client)
    pq = [c for c in configs if c.kem_id == KEM_XWING]
    assert [c.key_id for c in configs] == [1, 2]
    assert len(pq) == 1
    bundle = worker.bundle(client)
    request = inner_request(chat(MODEL))
    response, opener, _ = post_sealed(client, worker.url, pq[0], request)
    inner = decode_response(opener.open(response.content))
    assert inner.status == 200
    receipt = receipt_in(inner.headers)
    verify_receipt(receipt, receipt_key(bundle))
    assert receipt.key_id == 2


def test_gateway_shaped_routes_check_the_model(worker: RunningWorker, client: httpx.Client) -> None:
    nonce = "ab" * 32
    ok = client.get(worker.url + "/v1/attestation", params={"nonce": nonce, "model": MODEL})
    assert ok.status_code == 200
    assert ok.json()["nonce"] == nonce
    wrong = client.get(worker.url + "/v1/attestation", params={"nonce": nonce, "model": "other"})
    assert wrong.status_code == 404
    assert wrong.json()["code"] == "worker.model_mismatch"
    keys = client.get(worker.url + "/v1/ohttp-keys", params={"model": MODEL})
    assert keys.content == client.get(worker.url + "/ohttp-keys").content
    sealed = client.post(
        worker.url + "/v1/models/other/ohttp", content=b"\x01", headers={"content-type": "message/ohttp-req"}
    )
    assert sealed.status_code == 404
    assert sealed.json()["code"] == "worker.model_mismatch"
