"""Attested sessions over real sockets: caching, expiry, and a worker whose keys changed."""

from __future__ import annotations

from datetime import timedelta

import httpx

from attestgw.client import AttestedTransport, SessionCache, attest
from attestgw.receipt import Receipt
from tests.integration.client.loopback import LoopbackServer, RunningWorker
from tests.integration.client.relay import Relay

MODELS = "http://worker/v1/models"


def test_attest_returns_a_session_bound_to_the_workers_keys(worker: RunningWorker) -> None:
    session = attest(worker.url, worker.policy)
    keys = httpx.get(worker.url + "/ohttp-keys").content
    assert session.ohttp_keys == keys  # the bytes REPORT_DATA bound are the ones the worker serves
    assert session.result.affirming
    assert session.simulated
    assert [m.id for m in session.models] == ["tiny"]
    assert session.models[0].digest.hex() == worker.model_digest


def test_each_attestation_uses_a_fresh_nonce(worker: RunningWorker) -> None:
    assert attest(worker.url, worker.policy).nonce != attest(worker.url, worker.policy).nonce


def test_an_expired_session_is_attested_again(worker: RunningWorker) -> None:
    before = worker.app.counts["/attestation"]
    with httpx.Client(transport=AttestedTransport(worker.url, worker.policy, ttl=timedelta(0))) as client:
        client.get(MODELS)
        client.get(MODELS)
    assert worker.app.counts["/attestation"] == before + 2


def test_a_shared_cache_attests_once_for_several_transports(worker: RunningWorker) -> None:
    cache = SessionCache()
    before = worker.app.counts["/attestation"]
    for _ in range(3):
        with httpx.Client(transport=AttestedTransport(worker.url, worker.policy, cache=cache)) as client:
            assert client.get(MODELS).status_code == 200
    assert worker.app.counts["/attestation"] == before + 1


def test_a_restarted_worker_with_new_keys_is_attested_again_transparently(
    relay: tuple[Relay, str], worker: RunningWorker
) -> None:
    """The relay starts pointing at a new instance (fresh OHTTP and receipt keys, same key id).

    The cached session seals to the old key; the new instance cannot open it; the client attests
    again, sees new key configs, and retries once — the caller only notices the new receipt.
    """
    relay_app, url = relay
    receipts: list[Receipt] = []
    transport = AttestedTransport(url, worker.policy, on_receipt=receipts.append)
    restarted = worker.parts.app()
    with httpx.Client(transport=transport) as client, LoopbackServer(restarted) as second:
        assert client.get(MODELS).status_code == 200
        relay_app.target = second.url
        try:
            response = client.post(
                "http://worker/v1/chat/completions",
                json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            )
        finally:
            relay_app.target = worker.url
    assert response.status_code == 200
    assert restarted.counts["/attestation"] == 1
    assert restarted.counts["/ohttp"] == 2  # the refused attempt and the retry
    assert receipts[0].evidence_digest != receipts[1].evidence_digest
