"""The transports' decisions, fast and without the model: re-attestation, retries, receipts, streams.

The worker side is :class:`SimulatedWorkerKeys` behind :class:`httpx.MockTransport`, speaking the
protocol in process. The same behaviour against the real worker over sockets is in
tests/integration/client (which needs the worker extra).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from attestgw.client import RECEIPT_EXTENSION, AsyncAttestedTransport, AttestationRefused, AttestedTransport
from attestgw.errors import DecryptionError, FormatError
from attestgw.ohttp import ReplayWindow, Server, ServerKey
from attestgw.receipt import Receipt
from tests.routes import route_of
from tests.unit.client.simulated_worker import SimulatedWorkerKeys

ANSWER = b'{"object":"list","data":[]}'
EVENTS = [b'data: {"n": 1}\n\n', b"data: [DONE]\n\n"]


def _problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/problem+json"}, json={"code": code})


class FakeWorker:
    """Routes like the worker; ``refuse`` queues outer refusals for the next sealed requests."""

    def __init__(self, keys: SimulatedWorkerKeys) -> None:
        self.keys = keys
        self.counts: Counter[str] = Counter()
        self.refuse: list[str] = []
        self.content_type = b"text/event-stream"

    def rotate(self) -> None:
        """A restart: a fresh OHTTP key under the same key id."""
        self.keys.server = Server([ServerKey.generate(1)], replay_window=ReplayWindow(max_entries=64))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = route_of(request.url.path)
        self.counts[path] += 1
        if path == "/attestation":
            return httpx.Response(200, content=self.keys.bundle(bytes.fromhex(request.url.params["nonce"])))
        if self.refuse:
            code = self.refuse.pop(0)
            return _problem(422 if code == "ohttp.unknown_key_id" else 400, code)
        if path == "/ohttp":
            _, sealed = self.keys.answer(request.content, content=ANSWER)
            return httpx.Response(200, headers={"content-type": "message/ohttp-res"}, content=sealed)
        plaintext, sealer = self.keys.server.open_chunked_request(request.content)
        wire = self.keys.stream_answer(sealer, plaintext, EVENTS, content_type=self.content_type)
        return httpx.Response(
            200, headers={"content-type": "message/ohttp-chunked-res"}, content=b"".join(wire)
        )


@pytest.fixture
def fake() -> FakeWorker:
    return FakeWorker(SimulatedWorkerKeys())


def _client(fake: FakeWorker, on_receipt: Callable[[Receipt], None] | None = None) -> httpx.Client:
    transport = AttestedTransport(
        "http://w.test", fake.keys.policy(), transport=httpx.MockTransport(fake), on_receipt=on_receipt
    )
    return httpx.Client(transport=transport)


def test_a_one_shot_answer_carries_its_verified_receipt(fake: FakeWorker) -> None:
    seen: list[Receipt] = []
    with _client(fake, seen.append) as client:
        response = client.get("http://worker/v1/models")
    assert response.content == ANSWER
    assert response.extensions[RECEIPT_EXTENSION] is seen[0]
    assert isinstance(client._transport, AttestedTransport)
    assert client._transport.last_receipt is seen[0]
    assert fake.counts == Counter({"/attestation": 1, "/ohttp": 1})


def test_a_refused_attestation_seals_and_sends_nothing(fake: FakeWorker) -> None:
    policy = fake.keys.policy(measurement=b"\x01" * 48)
    transport = AttestedTransport("http://w.test", policy, transport=httpx.MockTransport(fake))
    with httpx.Client(transport=transport) as client, pytest.raises(AttestationRefused):
        client.post("http://worker/v1/chat/completions", json={"model": "tiny", "stream": True})
    assert fake.counts == Counter({"/attestation": 1})


def test_new_keys_are_attested_and_the_request_retried_once(fake: FakeWorker) -> None:
    with _client(fake) as client:
        client.get("http://worker/v1/models")
        fake.rotate()
        fake.refuse = ["ohttp.decrypt_failed"]
        assert client.get("http://worker/v1/models").content == ANSWER
    assert fake.counts == Counter({"/attestation": 2, "/ohttp": 3})


@pytest.mark.parametrize("code", ["ohttp.unknown_key_id", "ohttp.decrypt_failed"])
def test_unchanged_keys_mean_no_retry(fake: FakeWorker, code: str) -> None:
    with _client(fake) as client:
        client.get("http://worker/v1/models")
        fake.refuse = [code]
        with pytest.raises(DecryptionError) as err:
            client.get("http://worker/v1/models")
    assert err.value.code == code
    assert fake.counts == Counter({"/attestation": 2, "/ohttp": 2})


def test_a_replay_refusal_is_not_retried(fake: FakeWorker) -> None:
    with _client(fake) as client:
        fake.refuse = ["ohttp.replay"]
        with pytest.raises(DecryptionError) as err:
            client.get("http://worker/v1/models")
    assert err.value.code == "ohttp.replay"
    assert fake.counts == Counter({"/attestation": 1, "/ohttp": 1})


def test_a_second_retry_is_never_made(fake: FakeWorker) -> None:
    with _client(fake) as client:
        client.get("http://worker/v1/models")
        fake.rotate()
        fake.refuse = ["ohttp.decrypt_failed", "ohttp.decrypt_failed"]
        with pytest.raises(DecryptionError):
            client.get("http://worker/v1/models")
    assert fake.counts["/ohttp"] == 3


def test_an_answer_that_is_not_sealed_is_refused(fake: FakeWorker) -> None:
    def plain(request: httpx.Request) -> httpx.Response:
        if route_of(request.url.path) == "/attestation":
            return fake(request)
        return httpx.Response(200, json={"object": "list", "data": []})

    transport = AttestedTransport("http://w.test", fake.keys.policy(), transport=httpx.MockTransport(plain))
    with httpx.Client(transport=transport) as client, pytest.raises(FormatError) as err:
        client.get("http://worker/v1/models")
    assert err.value.code == "worker.refused"


def test_a_stream_read_twice_continues_instead_of_restarting(fake: FakeWorker) -> None:
    """The openai client stops at [DONE] and then drains the body: the second pass must not restart."""
    seen: list[Receipt] = []
    with (
        _client(fake, seen.append) as client,
        client.stream(
            "POST", "http://worker/v1/chat/completions", json={"model": "tiny", "stream": True}
        ) as response,
    ):
        stream = response.stream
        first = []
        for piece in stream:
            first.append(piece)
            if b"[DONE]" in piece:
                break
        assert seen  # the receipt was verified before [DONE] was released
        assert list(stream) == []
    assert b"".join(first) == b"".join(EVENTS)
    assert response.extensions[RECEIPT_EXTENSION] is seen[0]


def test_only_event_streams_hold_back_an_end_marker(fake: FakeWorker) -> None:
    fake.content_type = b"application/x-ndjson"
    with (
        _client(fake) as client,
        client.stream(
            "POST", "http://worker/v1/chat/completions", json={"model": "tiny", "stream": True}
        ) as response,
    ):
        assert b"".join(response.iter_raw()) == b"".join(EVENTS)


def test_the_async_transport_streams_and_verifies(fake: FakeWorker) -> None:
    async def run() -> tuple[bytes, list[Receipt], bytes]:
        seen: list[Receipt] = []
        transport = AsyncAttestedTransport(
            "http://w.test", fake.keys.policy(), transport=httpx.MockTransport(fake), on_receipt=seen.append
        )
        async with httpx.AsyncClient(transport=transport) as client:
            async with client.stream(
                "POST", "http://worker/v1/chat/completions", json={"model": "tiny", "stream": True}
            ) as response:
                streamed = b"".join([piece async for piece in response.aiter_raw()])
            one_shot = (await client.get("http://worker/v1/models")).content
        return streamed, seen, one_shot

    streamed, seen, one_shot = asyncio.run(run())
    assert streamed == b"".join(EVENTS)
    assert one_shot == ANSWER
    assert len(seen) == 2
    assert fake.counts["/attestation"] == 1
    assert json.loads(one_shot) == {"object": "list", "data": []}
