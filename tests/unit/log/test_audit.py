"""``audit verify`` over real logs: a clean log passes; every kind of tampering, and every entry that
relied on what it should not have, is a finding naming the index."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestgw.audit import AuditReport, audit_log
from attestgw.cli import main
from attestgw.log import LogRecorder, SqliteBackend
from attestgw.merkle import leaf_hash
from tests.unit.client.simulated_worker import SimulatedWorkerKeys
from tests.unit.log.logdata import SIGNER, Clock, attestation, open_store, populate, relay

# Layout of the log built below (one checkpoint per entry: appends are sequential, max_delay 0):
# 0 attestation, 1 admitted, 2-4 relayed, 5 denied, 6 attestation, 7 admitted, 8-9 relayed, 10 denied
FIRST_ATTESTATION, SECOND_ATTESTATION = 0, 6


@pytest.fixture
def log_db(tmp_path: Path, worker: SimulatedWorkerKeys) -> Path:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        clock = Clock()
        recorder = LogRecorder(store, clock=clock)
        assert populate(recorder, worker, clock, relays=3) == FIRST_ATTESTATION
        assert populate(recorder, worker, clock, relays=2) == SECOND_ATTESTATION
    return path


def _audit(path: Path) -> AuditReport:
    backend = SqliteBackend(path, readonly=True)
    try:
        return audit_log(backend, [SIGNER.verifier])
    finally:
        backend.close()


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_a_clean_log_passes(log_db: Path) -> None:
    report = _audit(log_db)
    assert report.ok, report.findings
    assert (report.entries, report.attestations_reverified, report.first_bad_index) == (11, 2, None)
    assert report.counts["inference.relayed"] == 5


def _edit_relay_and_rehash(path: Path) -> None:
    conn = sqlite3.connect(path)
    data = conn.execute("SELECT data FROM log_entries WHERE idx = 3").fetchone()[0]
    forged = data.replace(b'"key_id":1', b'"key_id":2')
    assert forged != data
    conn.create_function("lh", 1, leaf_hash)
    conn.execute("UPDATE log_entries SET data = ?, leaf_hash = lh(?) WHERE idx = 3", (forged, forged))
    conn.commit()
    conn.close()


TAMPERING: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("edit a record, leaf hash recomputed", _edit_relay_and_rehash, 3, "log.checkpoint_mismatch"),
    (
        "edit a record only",
        lambda p: _sql(p, "UPDATE log_entries SET data = replace(data, 'dec-0', 'dec-9') WHERE idx = 5"),
        5,
        "log.store_inconsistent",
    ),
    (
        "delete an entry",
        lambda p: _sql(p, "DELETE FROM log_entries WHERE idx = 4"),
        4,
        "log.store_inconsistent",
    ),
    (
        "reorder two entries",
        lambda p: _sql(
            p,
            "UPDATE log_entries SET idx = -1 WHERE idx = 2",
            "UPDATE log_entries SET idx = 2 WHERE idx = 3",
            "UPDATE log_entries SET idx = 3 WHERE idx = -1",
        ),
        2,
        "log.checkpoint_mismatch",
    ),
    (
        "swap the stored evidence of two entries",
        lambda p: _sql(
            p,
            "UPDATE log_evidence SET idx = -1 WHERE idx = 0",
            "UPDATE log_evidence SET idx = 0 WHERE idx = 6",
            "UPDATE log_evidence SET idx = 6 WHERE idx = -1",
        ),
        0,
        "log.evidence_mismatch",
    ),
    (
        "delete stored evidence",
        lambda p: _sql(p, "DELETE FROM log_evidence WHERE idx = 6"),
        6,
        "log.evidence_missing",
    ),
    (
        "edit a stored policy",
        lambda p: _sql(p, "UPDATE log_evidence SET policy = policy || x'0a' WHERE idx = 6"),
        6,
        "log.evidence_mismatch",
    ),
    (
        "forge a checkpoint signature",
        lambda p: _sql(
            p, "UPDATE log_checkpoints SET note = replace(note, '\n8\n', '\n80\n') WHERE size = 8"
        ),
        7,
        "log.signature_invalid",
    ),
    (
        "drop the newest entries",
        lambda p: _sql(p, "DELETE FROM log_entries WHERE idx >= 9"),
        9,
        "log.checkpoint_mismatch",
    ),
]


@pytest.mark.parametrize(("case", "tamper", "index", "code"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_is_found_and_named(
    log_db: Path, case: str, tamper: Callable[[Path], None], index: int, code: str
) -> None:
    tamper(log_db)
    report = _audit(log_db)
    assert not report.ok, case
    assert report.first_bad_index == index, report.findings
    assert code in {f.code for f in report.findings if f.index == index}, report.findings


def test_relays_must_rely_on_an_affirming_unexpired_attestation(
    tmp_path: Path, worker: SimulatedWorkerKeys
) -> None:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        clock = Clock()
        recorder = LogRecorder(store, clock=clock)
        good = recorder.record("attestation.appraised", attestation(worker, clock()))
        refused = recorder.record(
            "attestation.appraised", attestation(worker, clock(), measurement=b"\x01" * 48)
        )
        ok = recorder.record("inference.relayed", relay(good, 0))
        on_refused = recorder.record("inference.relayed", relay(refused, 1))
        clock.now += timedelta(hours=1)
        expired = recorder.record("inference.relayed", relay(good, 2))
        forward = recorder.record("inference.relayed", relay(expired + 5, 3))
    report = _audit(path)
    by_index = {f.index: f.code for f in report.findings}
    assert ok not in by_index
    assert by_index == {
        on_refused: "log.relay_unattested",
        expired: "log.relay_unattested",
        forward: "log.reference_invalid",
    }
    assert report.first_bad_index == on_refused


def test_an_attestation_recorded_as_affirming_must_re_verify_so(
    tmp_path: Path, worker: SimulatedWorkerKeys
) -> None:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        clock = Clock()
        fields = attestation(worker, clock(), measurement=b"\x01" * 48)  # the policy refuses this worker
        assert fields["status"] == "contraindicated"
        fields.update(status="affirming", codes=[])  # ...but the gateway claimed otherwise
        index = LogRecorder(store, clock=clock).record("attestation.appraised", fields)
    report = _audit(path)
    assert [(f.index, f.code) for f in report.findings] == [(index, "log.attestation_mismatch")]


def test_cli_verify_exit_codes_and_json(log_db: Path, tmp_path: Path) -> None:
    key = tmp_path / "log.pub"
    key.write_text(SIGNER.verifier.vkey + "\n")
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", "--db", str(log_db), "--log-key", str(key), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    _sql(log_db, "DELETE FROM log_entries WHERE idx = 4")
    bad = runner.invoke(main, ["audit", "verify", "--db", str(log_db), "--log-key", str(key), "--json"])
    assert bad.exit_code == 1
    out = json.loads(bad.output)
    assert out["first_bad_index"] == 4
    assert out["findings"][0]["code"] == "log.store_inconsistent"
    text = runner.invoke(main, ["audit", "verify", "--db", str(log_db), "--log-key", str(key)])
    assert text.exit_code == 1
    assert "first bad index: 4" in text.output
    other = tmp_path / "other.pub"
    other.write_text("other/log+01020304+AQ" + "A" * 42 + "=\n")
    usage = runner.invoke(main, ["audit", "verify", "--db", str(log_db), "--log-key", str(tmp_path / "none")])
    assert usage.exit_code == 2
    missing = runner.invoke(main, ["audit", "verify", "--db", str(tmp_path / "no.db"), "--log-key", str(key)])
    assert missing.exit_code == 3


def test_cli_log_commands(log_db: Path, tmp_path: Path) -> None:
    key = tmp_path / "log.pub"
    key.write_text(SIGNER.verifier.vkey + "\n")
    runner = CliRunner()
    base = ["--db", str(log_db), "--log-key", str(key), "--json"]
    checkpoint = json.loads(runner.invoke(main, ["log", "checkpoint", *base]).output)
    assert checkpoint["size"] == 11
    assert checkpoint["verified"] is True
    entries = json.loads(runner.invoke(main, ["log", "entries", *base, "--start", "2", "--end", "4"]).output)
    assert [e["record"]["type"] for e in entries["entries"]] == ["inference.relayed"] * 2
    proof = runner.invoke(main, ["log", "prove", *base, "--index", "3"])
    assert proof.exit_code == 0
    assert json.loads(proof.output)["size"] == 11
    kept = tmp_path / "kept.note"
    kept.write_bytes(dict(SqliteBackend(log_db, readonly=True).checkpoints())[5])
    consistent = runner.invoke(main, ["log", "verify-consistency", *base, "--old-checkpoint", str(kept)])
    assert consistent.exit_code == 0, consistent.output
    url = runner.invoke(main, ["log", "checkpoint", "--url", "http://127.0.0.1:1", "--json"])
    assert url.exit_code == 3  # --url reads the gateway API; nothing listens there: unavailable


def test_cli_report_is_self_contained_html(log_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["audit", "report", "--db", str(log_db), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "worker-1" in page
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert json.loads(result.output)["types"]["inference.relayed"] == 5
