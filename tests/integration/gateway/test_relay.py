"""The relay end to end: real gateway (uvicorn, loopback) → real worker; answers decrypt at the client."""

from __future__ import annotations

import hashlib
import json

import httpx

from attestgw.client import AttestedTransport
from tests.integration.gateway.conftest import Workers
from tests.integration.gateway.sealing import attest, chat, inner, seal_chunked, sealed_exchange
from tests.unit.gateway.local_services import ALICE, ALICE_TOKEN


def test_attest_then_sealed_request_through_the_gateway(make_gateway, two_workers, workers: Workers) -> None:
    with make_gateway([two_workers[0].url]) as gw, httpx.Client(timeout=30) as client:
        gw.wait_ready()
        attested = attest(client, gw.url, ALICE_TOKEN, workers.policy)
        status, content, outer = sealed_exchange(
            client, f"{gw.url}/v1/models/tiny/ohttp", ALICE_TOKEN, attested, inner("GET", "/v1/models")
        )
        assert status == 200, outer.text
        assert json.loads(content or b"")["data"][0]["id"] == "tiny"
        assert outer.headers["content-type"] == "message/ohttp-res"
        relayed = gw.recorder.of("inference.relayed")
        assert relayed[-1]["principal_digest"] == ALICE.digest
        assert relayed[-1]["ciphertext_digest"] != hashlib.sha256(b"").hexdigest()
        assert relayed[-1]["key_id"] == attested.config.key_id
        admitted = gw.recorder.of("worker.admitted")
        assert admitted
        assert admitted[0]["instance_digest"] == attested.appraised.instance_digest.hex()
        # the admission rests on a recorded attestation: the evidence, the nonce and the policy bytes
        appraisal = gw.recorder.records[admitted[0]["attestation_index"]]
        assert appraisal[0] == "attestation.appraised"
        assert appraisal[1]["status"] == "affirming"
        assert appraisal[1]["measurement"] == attested.appraised.measurement.hex()
        assert relayed[-1]["attestation_index"] == admitted[0]["attestation_index"]


def test_chunked_stream_through_the_gateway(make_gateway, two_workers, workers: Workers) -> None:
    with make_gateway([two_workers[0].url]) as gw, httpx.Client(timeout=30) as client:
        gw.wait_ready()
        attested = attest(client, gw.url, ALICE_TOKEN, workers.policy)
        body, reader = seal_chunked(attested, chat("hello there", max_tokens=8, stream=True))
        headers = {
            "Authorization": f"Bearer {ALICE_TOKEN}",
            "Content-Type": "message/ohttp-chunked-req",
            "Attestgw-Key-Config": attested.keys_sha256,
        }
        with client.stream(
            "POST", f"{gw.url}/v1/models/tiny/ohttp-chunked", content=body, headers=headers
        ) as r:
            assert r.status_code == 200
            for piece in r.iter_raw():
                reader.feed(piece)
        reader.finish()
        assert reader.status == 200
        assert reader.ended
        assert b"data: [DONE]" in reader.body


def test_the_sdk_stays_with_the_worker_it_attested_behind_a_gateway(
    make_gateway, two_workers, workers: Workers
) -> None:
    """Two workers serve the model; the SDK's sealed requests carry the attested key config, so the
    gateway routes every one to the worker that holds that key: no refusal, no re-attestation."""
    with make_gateway([w.url for w in two_workers]) as gw:
        gw.wait_ready(2)
        transport = AttestedTransport(gw.url, workers.policy, model="tiny", token=ALICE_TOKEN)
        with httpx.Client(transport=transport) as client:
            first = transport.session()
            for _ in range(6):
                assert client.get("http://worker/v1/models").status_code == 200
                assert transport.last_receipt is not None
                assert transport.last_receipt.evidence_digest == first.instance_digest.hex()
            assert transport.session() is first
