"""The official openai client, unchanged, through the SDK transport to the real worker on loopback.

Issue 3 "must show": a streamed chat completion, a non-streamed one and embeddings from the
simulated-TEE worker running the tiny model, each with a verified receipt; the same with AsyncOpenAI.
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from attestgw.client import RECEIPT_EXTENSION, AsyncAttestedTransport, AttestedTransport, attest
from attestgw.receipt import Receipt, verify_receipt
from tests.integration.client.loopback import RunningWorker

openai = pytest.importorskip("openai", reason="the end-to-end tests use the official openai client")

MESSAGES = [{"role": "user", "content": "Say something."}]


def _client(worker: RunningWorker, receipts: list[Receipt]) -> tuple[openai.OpenAI, AttestedTransport]:
    transport = AttestedTransport(worker.url, worker.policy, on_receipt=receipts.append)
    client = openai.OpenAI(
        base_url="http://worker/v1", api_key="unused", http_client=httpx.Client(transport=transport)
    )
    return client, transport


def _check(receipt: Receipt, worker: RunningWorker) -> None:
    """What a user can re-check on their own: a fresh attestation of the worker names the key that
    signed the receipt and the instance it came from, and the model is the one the worker serves."""
    session = attest(worker.url, worker.policy)
    verify_receipt(receipt, session.receipt_spki)
    assert receipt.evidence_digest == session.instance_digest.hex()
    assert receipt.model == "tiny"
    assert receipt.model_digest == worker.model_digest


def test_streamed_chat_completion_with_a_verified_receipt(worker: RunningWorker) -> None:
    receipts: list[Receipt] = []
    client, transport = _client(worker, receipts)
    sealed_before = worker.app.sealed()
    stream = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=12, temperature=0, stream=True
    )
    pieces, finish = [], None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        assert receipts == []  # the receipt arrives with the final chunk, after every token
    assert "".join(pieces)
    assert finish in ("stop", "length")
    assert len(receipts) == 1
    assert transport.last_receipt is receipts[0]
    _check(receipts[0], worker)
    assert worker.app.sealed() == sealed_before + 1
    assert worker.app.counts["/ohttp-chunked"] >= 1


def test_chat_completion_without_streaming(worker: RunningWorker) -> None:
    receipts: list[Receipt] = []
    client, transport = _client(worker, receipts)
    # greedy: a sampled answer of the tiny random model is empty about once in 200 tries
    raw = client.chat.completions.with_raw_response.create(
        model="tiny", messages=MESSAGES, max_tokens=8, temperature=0
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.completion_tokens <= 8
    receipt = raw.http_response.extensions[RECEIPT_EXTENSION]
    assert receipt is receipts[0] is transport.last_receipt
    assert receipt.response_sha256 == hashlib.sha256(raw.http_response.content).hexdigest()
    _check(receipt, worker)


def test_embeddings(worker: RunningWorker) -> None:
    receipts: list[Receipt] = []
    client, _ = _client(worker, receipts)
    result = client.embeddings.create(model="tiny", input=["hello", "world"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) > 0
    assert result.data[0].embedding != result.data[1].embedding
    _check(receipts[0], worker)


def test_models_and_one_attestation_for_many_requests(worker: RunningWorker) -> None:
    receipts: list[Receipt] = []
    client, _ = _client(worker, receipts)
    attested = worker.app.counts["/attestation"]
    assert [m.id for m in client.models.list()] == ["tiny"]
    client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=2)
    assert len(receipts) == 2
    assert worker.app.counts["/attestation"] == attested + 1  # the session is cached


def test_async_openai_streamed_and_not(worker: RunningWorker) -> None:
    async def run() -> tuple[str, str, list[Receipt]]:
        receipts: list[Receipt] = []
        transport = AsyncAttestedTransport(worker.url, worker.policy, on_receipt=receipts.append)
        async with httpx.AsyncClient(transport=transport) as http:
            client = openai.AsyncOpenAI(base_url="http://worker/v1", api_key="unused", http_client=http)
            stream = await client.chat.completions.create(
                model="tiny", messages=MESSAGES, max_tokens=6, temperature=0, stream=True
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            whole = await client.chat.completions.create(
                model="tiny", messages=MESSAGES, max_tokens=6, temperature=0
            )
            return streamed, whole.choices[0].message.content or "", receipts

    streamed, whole, receipts = asyncio.run(run())
    assert streamed
    assert whole
    assert len(receipts) == 2
    for receipt in receipts:
        _check(receipt, worker)


def test_a_concurrent_batch_through_one_transport(worker: RunningWorker) -> None:
    """Requests from several threads share one session; each gets its own verified receipt."""
    receipts: list[Receipt] = []
    client, _ = _client(worker, receipts)

    def ask(i: int) -> str:
        out = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": f"n{i}"}], max_tokens=4, temperature=0
        )
        return out.choices[0].message.content or ""

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(8)))
    assert all(answers)
    assert len({r.request_sha256 for r in receipts}) == 8
