"""The store on SQLite and on PostgreSQL (tests taking ``new_log`` run on both): durable appends,
batched checkpoints, proofs that agree with a naive tree; and, on SQLite, a refusal to open a log
whose rows no longer match its latest checkpoint (tests/unit/log/test_postgres.py does PostgreSQL's)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import AttestgwError, FormatError, ServiceUnavailableError, VerificationError
from attestgw.log import (
    BatchSettings,
    Evidence,
    LogRecorder,
    LogStore,
    NoteSigner,
    SqliteBackend,
    build_record,
    open_backend,
    verify_checkpoint,
)
from attestgw.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.unit.log.logdata import ORIGIN, SIGNER, denial, open_store
from tests.unit.merkle import reference

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _denial(n: int) -> bytes:
    return build_record("authorization.denied", denial(n), at=AT).data


NewLog = Callable[[], str | Path]


def test_append_is_durable_and_signed(new_log: NewLog) -> None:
    location = new_log()
    with open_store(location) as store:
        indices = [store.append(build_record("authorization.denied", denial(n), at=AT)) for n in range(5)]
        note = store.checkpoint()
    assert indices == [0, 1, 2, 3, 4]
    checkpoint = verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint
    assert checkpoint.size == 5
    assert checkpoint.root_hash == reference.mth([_denial(n) for n in range(5)])
    # a fresh process sees the same log
    with LogStore(open_backend(location, readonly=True), verifiers=[SIGNER.verifier]) as again:
        assert again.size == 5
        assert [row.data for row in again.entries(0, 5)] == [_denial(n) for n in range(5)]


def test_wal_and_full_sync_are_in_force(tmp_path: Path) -> None:
    open_store(tmp_path / "log.db").close()
    conn = sqlite3.connect(tmp_path / "log.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_submits_are_batched_under_one_checkpoint_each(new_log: NewLog) -> None:
    location = new_log()
    batch = BatchSettings(max_entries=64, max_delay=0.05)
    with open_store(location, batch=batch) as store:
        futures = [store.submit(build_record("authorization.denied", denial(n), at=AT)) for n in range(300)]
        assert sorted(f.result(timeout=30) for f in futures) == list(range(300))
    backend = open_backend(location, readonly=True)
    sizes = [size for size, _ in backend.checkpoints()]
    backend.close()
    assert sizes[0] == 0
    assert sizes[-1] == 300
    assert len(sizes) <= 1 + 300 // 64 + 2, "appends were not batched"


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 70), st.data())
def test_proofs_agree_with_a_naive_tree(new_log: NewLog, n: int, data: st.DataObject) -> None:
    path = new_log()
    entries = [_denial(i) for i in range(n)]
    with open_store(path, batch=BatchSettings(max_entries=7, max_delay=0)) as store:
        for f in [store.submit(build_record("authorization.denied", denial(i), at=AT)) for i in range(n)]:
            f.result(timeout=30)
        index = data.draw(st.integers(0, n - 1))
        size = data.draw(st.integers(index + 1, n))
        old = data.draw(st.integers(1, size))
        assert list(store.inclusion_proof(index, size)) == reference.path(index, entries[:size])
        assert list(store.consistency_proof(old, size)) == reference.proof(old, entries[:size])
        root = reference.mth(entries[:size])
        verify_inclusion(leaf_hash(entries[index]), index, size, store.inclusion_proof(index, size), root)
        verify_consistency(old, size, store.consistency_proof(old, size), reference.mth(entries[:old]), root)


def test_read_only_store_refuses_appends(new_log: NewLog) -> None:
    location = new_log()
    open_store(location).close()
    with (
        LogStore(open_backend(location, readonly=True)) as store,
        pytest.raises(ServiceUnavailableError) as err,
    ):
        store.append(build_record("authorization.denied", denial(0), at=AT))
    assert err.value.code == "log.store_read_only"


def test_a_signer_for_another_log_is_refused(new_log: NewLog) -> None:
    with pytest.raises(FormatError) as err:
        LogStore(open_backend(new_log(), origin=ORIGIN), signer=NoteSigner.generate("other/log"))
    assert err.value.code == "log.key_invalid"


def test_attestation_records_need_matching_evidence(new_log: NewLog) -> None:
    evidence = Evidence(b"bundle", b"n" * 32, b"policy")
    fields = {
        "worker": "w", "tee": "snp", **evidence.digests, "verified_at": "2026-05-01T00:00:00.000000Z",
        "expires_at": "2026-05-01T00:00:00.000000Z", "status": "contraindicated",
        "codes": ["snp.signature_invalid"],
        "ear": None, "measurement": None, "instance_digest": None, "simulated": False,
    }  # fmt: skip
    record = build_record("attestation.appraised", fields, at=AT)
    with open_store(new_log()) as store:
        with pytest.raises(FormatError) as err:
            store.append(record)
        assert err.value.code == "log.evidence_missing"
        with pytest.raises(FormatError) as err:
            store.append(record, Evidence(b"other bundle", b"n" * 32, b"policy"))
        assert err.value.code == "log.evidence_mismatch"
        index = store.append(record, evidence)
        assert store.entries(index, index + 1)[0].evidence == evidence


def test_recorder_keeps_raw_bytes_beside_the_leaf(new_log: NewLog) -> None:
    with open_store(new_log()) as store:
        recorder = LogRecorder(store, clock=lambda: AT)
        fields = {
            "worker": "w", "tee": "snp", "verified_at": "2026-05-01T00:00:00.000000Z",
            "expires_at": "2026-05-01T00:00:00.000000Z", "status": "contraindicated",
            "codes": ["snp.signature_invalid"],
            "ear": None, "measurement": None, "instance_digest": None, "simulated": False,
            "bundle": b"BUNDLE-BYTES", "nonce": b"\x07" * 32, "policy": b"POLICY-BYTES",
        }  # fmt: skip
        index = recorder.record("attestation.appraised", fields)
        row = store.entries(index, index + 1)[0]
    assert b"BUNDLE-BYTES" not in row.data
    assert b"POLICY-BYTES" not in row.data
    assert row.evidence == Evidence(b"BUNDLE-BYTES", b"\x07" * 32, b"POLICY-BYTES")
    with pytest.raises(FormatError) as err:
        recorder.record("inference.relayed", {"bundle": b"x"})
    assert err.value.code == "log.record_field_not_allowed"


def test_wait_for_checkpoint(new_log: NewLog) -> None:
    with open_store(new_log()) as store:
        index = store.append(build_record("authorization.denied", denial(0), at=AT))
        note = store.wait_for_checkpoint(index)
        assert verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint.size > index
        with pytest.raises(FormatError) as err:
            store.wait_for_checkpoint(index + 1, timeout=0.01)
        assert err.value.code == "log.index_out_of_range"


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM log_entries WHERE idx = 2",
        "DELETE FROM log_entries WHERE idx = 4",
        "UPDATE log_entries SET leaf_hash = zeroblob(32) WHERE idx = 1",
        "INSERT INTO log_entries VALUES (5, zeroblob(32), x'00')",
        "DELETE FROM log_checkpoints WHERE size = 5",
    ],
)
def test_open_refuses_rows_that_do_not_match_the_latest_checkpoint(tmp_path: Path, tamper: str) -> None:
    with open_store(tmp_path / "log.db") as store:
        for n in range(5):
            store.append(build_record("authorization.denied", denial(n), at=AT))
    conn = sqlite3.connect(tmp_path / "log.db")
    conn.execute(tamper)
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError) as err:
        open_store(tmp_path / "log.db")
    assert err.value.code == "log.store_inconsistent"


def test_not_a_log(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "x.db").execute("CREATE TABLE t (a)").connection.commit()
    with pytest.raises(AttestgwError) as err:
        SqliteBackend(tmp_path / "x.db", readonly=True)
    assert err.value.code == "log.store_unavailable"
    with pytest.raises(AttestgwError) as err:
        SqliteBackend(tmp_path / "missing.db", readonly=True)
    assert err.value.code == "log.store_unavailable"
