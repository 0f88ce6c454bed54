"""Two gateway processes appending to one PostgreSQL log at once build one consistent tree: every
acknowledged entry is stored exactly once at the index it was acknowledged with, every checkpoint
either process handed out is consistent with the final tree, and ``audit verify`` passes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestgw.cli import main
from attestgw.log import LogStore, open_backend, verify_checkpoint
from attestgw.merkle import verify_consistency
from tests.conftest import REPO
from tests.unit.log.logdata import ORIGIN, SIGNER
from tests.unit.log.pgcluster import PostgresCluster

PER_PROCESS = 500


@pytest.mark.slow
def test_two_processes_append_to_one_postgres_log(postgres: PostgresCluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.log.appender", url, "--count", str(PER_PROCESS),
             "--offset", str(offset)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for offset in (0, 1_000_000)
    ]  # fmt: skip
    outputs: list[str] = []
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:  # both are connected and waiting: start them together
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, _ = child.communicate(timeout=300)
            assert child.returncode == 0
            outputs.append(out)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    acked: dict[int, str] = {}
    notes: list[bytes] = []
    owner: dict[int, int] = {}
    for process, out in enumerate(outputs):
        lines = out.splitlines()
        assert lines[-1] == "done"
        for line in lines[:-1]:
            _, index, digest, note = line.split()
            assert int(index) not in acked, f"index {index} was acknowledged to both processes"
            acked[int(index)] = digest
            owner[int(index)] = process
            notes.append(base64.b64decode(note))
    assert sorted(acked) == list(range(2 * PER_PROCESS))
    switches = sum(owner[i] != owner[i + 1] for i in range(2 * PER_PROCESS - 1))
    assert switches > 2, "the two processes did not append concurrently"

    with LogStore(open_backend(url, readonly=True), verifiers=[SIGNER.verifier]) as store:
        size = store.size
        assert size == 2 * PER_PROCESS
        rows = store.entries(0, size)
        assert [hashlib.sha256(row.data).hexdigest() for row in rows] == [acked[i] for i in range(size)]
        for note in notes:
            handed_out = verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint
            assert store.root(handed_out.size) == handed_out.root_hash
            proof = store.consistency_proof(handed_out.size, size)
            verify_consistency(handed_out.size, size, proof, handed_out.root_hash, store.root())

    key = tmp_path / "log.pub"
    key.write_text(SIGNER.verifier.vkey + "\n", encoding="ascii")
    result = CliRunner().invoke(main, ["audit", "verify", "--db", url, "--log-key", str(key), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["ok"], report["entries"]) == (True, 2 * PER_PROCESS)
