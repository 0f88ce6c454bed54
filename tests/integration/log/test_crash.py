"""Crash safety: SIGKILL a process while appends are in flight; every acknowledged entry survives,
every checkpoint it handed out is consistent with the reopened tree, and the audit passes."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from attestgw.audit import audit_log
from attestgw.log import SqliteBackend, verify_checkpoint
from attestgw.merkle import verify_consistency
from tests.conftest import REPO
from tests.unit.log.logdata import ORIGIN, SIGNER, open_store


@pytest.mark.slow
@pytest.mark.parametrize("acks_before_kill", [50, 400])
def test_sigkill_loses_no_acknowledged_append(tmp_path: Path, acks_before_kill: int) -> None:
    db = tmp_path / "log.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.log.appender", str(db)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    acked: dict[int, str] = {}
    notes: list[bytes] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acked) < acks_before_kill:
            line = child.stdout.readline()
            assert line, "the appender died on its own"
            _, index, digest, note = line.split()
            acked[int(index)] = digest
            notes.append(base64.b64decode(note))
    finally:
        child.send_signal(signal.SIGKILL)  # mid-stream: other threads have appends in flight
        child.wait(timeout=30)
    # every line already written before the kill is a promise too
    for line in child.stdout.read().splitlines():
        if line.startswith("ack "):
            _, index, digest, note = line.split()
            acked[int(index)] = digest
            notes.append(base64.b64decode(note))

    with open_store(db) as store:  # reopening checks the stored leaves against the latest checkpoint
        size = store.size
        rows = {row.index: row for row in store.entries(0, size)}
        for index, digest in acked.items():
            assert index in rows, f"acknowledged entry {index} was lost"
            assert hashlib.sha256(rows[index].data).hexdigest() == digest
        for note in notes:
            handed_out = verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint
            assert handed_out.size <= size
            assert store.root(handed_out.size) == handed_out.root_hash
            if handed_out.size:
                proof = store.consistency_proof(handed_out.size, size)
                verify_consistency(handed_out.size, size, proof, handed_out.root_hash, store.root())
    backend = SqliteBackend(db, readonly=True)
    report = audit_log(backend, [SIGNER.verifier])
    backend.close()
    assert report.ok, report.findings[:5]
    assert report.entries == size >= len(acked)
