"""The ``/v1/log`` routes without workers: read_log authorization, a gateway without a log, bounded pages,
ranges refused with their code, and the OpenAPI document (driven through Starlette's TestClient)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from attestgw.access import Action
from attestgw.gateway import GatewayServices, WorkerPool, create_app, parse_settings
from attestgw.gateway.log_routes import (
    LOG_CHECKPOINT_HEADER,
    LOG_ENTRY_HEADER,
    LOG_HEADERS,
    LOG_INCLUSION_HEADER,
    LOG_INDEX_HEADER,
    MAX_PAGE,
    AttestationLog,
)
from attestgw.gateway.services import EvidenceLog
from attestgw.log import (
    LogRecorder,
    LogStore,
    NoteSigner,
    build_record,
    open_backend,
    parse_record,
    verify_checkpoint,
)
from attestgw.merkle import leaf_hash, verify_inclusion
from tests.unit.gateway.local_services import (
    ALICE,
    ALICE_TOKEN,
    BOB,
    BOB_TOKEN,
    AllowList,
    CountingQuotas,
    MemoryRecorder,
    StaticTokens,
)
from tests.unit.gateway.test_app import SETTINGS, _policy

ORIGIN = "attestgw.test/routes"
SIGNER = NoteSigner.generate(ORIGIN)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _services(store: LogStore | None) -> tuple[GatewayServices, MemoryRecorder]:
    settings = parse_settings(SETTINGS, environ={})
    recorder = MemoryRecorder()
    policy, text = _policy()
    pool = WorkerPool(settings.workers, policy, settings.pool, recorder, policy_bytes=text)
    services = GatewayServices(
        authenticator=StaticTokens({ALICE_TOKEN: ALICE, BOB_TOKEN: BOB}),
        authorizer=AllowList({("alice", Action.READ_LOG, "log")}),
        quotas=CountingQuotas(),
        recorder=recorder,
        pool=pool,
        evidence_log=EvidenceLog(store, policy, text) if store is not None else None,
    )
    return services, recorder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LogStore]:
    with LogStore(open_backend(tmp_path / "log.db", origin=ORIGIN), signer=SIGNER) as opened:
        for i in range(MAX_PAGE + 5):
            fields = {"worker": "w1", "reason": "gateway.no_worker", "attestation_index": i}
            opened.append(build_record("worker.evicted", fields, at=AT))
        yield opened


def _client(store: LogStore | None) -> tuple[TestClient, MemoryRecorder]:
    services, recorder = _services(store)
    settings = parse_settings(SETTINGS, environ={})
    return TestClient(create_app(settings, services), raise_server_exceptions=False), recorder


def _auth(token: str = ALICE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_allowed_reader_gets_the_signed_checkpoint_and_proofs_that_verify(store: LogStore) -> None:
    client, _ = _client(store)
    with client:
        note = client.get("/v1/log/checkpoint", headers=_auth())
        assert note.status_code == 200
        checkpoint = verify_checkpoint(note.content, [SIGNER.verifier], origin=ORIGIN).checkpoint
        assert checkpoint.size == MAX_PAGE + 5
        proof = client.get("/v1/log/proof/inclusion", params={"index": 7}, headers=_auth()).json()
        assert proof["size"] == checkpoint.size
        (row,) = store.entries(7, 8)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(leaf_hash(row.data), 7, checkpoint.size, hashes, checkpoint.root_hash)


def test_an_entries_page_is_cut_at_the_bound_and_carries_no_evidence_for_other_records(
    store: LogStore,
) -> None:
    client, _ = _client(store)
    with client:
        page = client.get("/v1/log/entries", params={"start": 3, "end": MAX_PAGE + 5}, headers=_auth()).json()
    assert page["end"] == 3 + MAX_PAGE
    assert [e["index"] for e in page["entries"]] == list(range(3, 3 + MAX_PAGE))
    assert all(e["evidence"] is None for e in page["entries"])
    assert base64.b64decode(page["entries"][0]["record"]) == store.entries(3, 4)[0].data


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("entries", {"start": MAX_PAGE + 5}),
        ("entries", {"start": 4, "end": 4}),
        ("entries", {"start": 0, "end": MAX_PAGE + 6}),
        ("proof/inclusion", {"index": 3, "size": 3}),
        ("proof/inclusion", {"index": 0, "size": MAX_PAGE + 6}),
        ("proof/consistency", {"old": 0}),
        ("proof/consistency", {"old": 5, "new": 4}),
    ],
)
def test_ranges_outside_the_log_are_400_log_range_invalid(
    store: LogStore, path: str, params: dict[str, int]
) -> None:
    client, _ = _client(store)
    with client:
        r = client.get(f"/v1/log/{path}", params=params, headers=_auth())
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "gateway.log_range_invalid"


def test_a_negative_or_missing_parameter_is_400_request_invalid(store: LogStore) -> None:
    client, _ = _client(store)
    with client:
        assert client.get("/v1/log/entries", headers=_auth()).json()["code"] == "gateway.request_invalid"
        r = client.get("/v1/log/proof/inclusion", params={"index": -1}, headers=_auth())
    assert r.status_code == 400


def test_a_reader_without_read_log_is_403_and_the_denial_is_recorded(store: LogStore) -> None:
    client, recorder = _client(store)
    with client:
        r = client.get("/v1/log/entries", params={"start": 0}, headers=_auth(BOB_TOKEN))
        assert client.get("/v1/log/checkpoint").status_code == 401
        # the tree head is for every authenticated caller (hashes only)
        assert client.get("/v1/log/checkpoint", headers=_auth(BOB_TOKEN)).status_code == 200
    assert r.status_code == 403
    assert r.json()["code"] == "access.denied"
    kind, fields = recorder.records[-1]
    assert kind == "authorization.denied"
    assert fields["action"] == "read_log"
    assert fields["resource"] == "log"


def test_a_gateway_without_a_log_answers_404_log_unavailable() -> None:
    client, _ = _client(None)
    with client:
        r = client.get("/v1/log/checkpoint", headers=_auth())
    assert r.status_code == 404
    assert r.json()["code"] == "gateway.log_unavailable"


def test_openapi_documents_the_log_routes_and_the_attestation_headers() -> None:
    client, _ = _client(None)
    with client:
        doc = client.get("/openapi.json").json()
    for route in ("checkpoint", "entries", "proof/inclusion", "proof/consistency"):
        responses = doc["paths"][f"/v1/log/{route}"]["get"]["responses"]
        assert {"200", "400", "401", "403", "404", "429", "503"} <= set(responses)
    headers = doc["paths"]["/v1/attestation"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == set(LOG_HEADERS)


def test_a_bundle_the_gateway_refuses_is_still_proven_and_recorded_as_refused(store: LogStore) -> None:
    policy, text = _policy()
    attestations = AttestationLog(EvidenceLog(store, policy, text), LogRecorder(store))
    headers = asyncio.run(attestations.record("w1", b'{"not": "a bundle"}', b"\x07" * 32))
    index = int(headers[LOG_INDEX_HEADER])
    (row,) = store.entries(index, index + 1)
    record = parse_record(row.data)
    assert record.fields["status"] == "contraindicated"
    assert record.fields["codes"]
    assert row.evidence is not None
    assert row.evidence.bundle == b'{"not": "a bundle"}'
    assert base64.b64decode(headers[LOG_ENTRY_HEADER]) == row.data
    note = base64.b64decode(headers[LOG_CHECKPOINT_HEADER])
    checkpoint = verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint
    hashes = [base64.b64decode(h) for h in headers[LOG_INCLUSION_HEADER].split(",")]
    verify_inclusion(leaf_hash(row.data), index, checkpoint.size, hashes, checkpoint.root_hash)


def test_the_gateway_and_the_sdk_name_the_same_log_headers() -> None:
    from attestgw.client import logcheck  # noqa: PLC0415  # the SDK side of the same contract

    sdk = (logcheck.LOG_INDEX_HEADER, logcheck.LOG_ENTRY_HEADER, logcheck.LOG_CHECKPOINT_HEADER)
    assert tuple(h.lower() for h in LOG_HEADERS) == (*sdk, logcheck.LOG_INCLUSION_HEADER)
