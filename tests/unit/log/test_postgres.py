"""The PostgreSQL backend on a real server: two writers on one log build one tree, rows that no longer
match the latest checkpoint are refused at open, errors never show a password, and the CLI takes a
``postgresql://`` URL wherever it takes a path."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from attestgw.audit import audit_log
from attestgw.cli import main
from attestgw.errors import AttestgwError, ServiceUnavailableError, VerificationError
from attestgw.log import BatchSettings, LogStore, build_record, open_backend, verify_checkpoint
from attestgw.merkle import verify_consistency
from tests.unit.log.logdata import ORIGIN, SIGNER, denial, open_store
from tests.unit.log.pgcluster import PostgresCluster
from tests.unit.merkle import reference

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _record(n: int) -> bytes:
    return build_record("authorization.denied", denial(n), at=AT).data


def _sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]  # test SQL


def test_two_writers_on_one_log_build_one_tree(postgres: PostgresCluster) -> None:
    url = postgres.new_database()
    batch = BatchSettings(max_entries=16, max_delay=0.001)
    acked: dict[int, bytes] = {}
    notes: list[bytes] = []
    lock = threading.Lock()
    with open_store(url, batch=batch) as first, open_store(url, batch=batch) as second:

        def run(store: LogStore, offset: int) -> None:
            for n in range(offset, offset + 150):
                record = build_record("authorization.denied", denial(n), at=AT)
                index = store.append(record)
                note = store.wait_for_checkpoint(index)
                with lock:
                    assert index not in acked, f"index {index} handed out twice"
                    acked[index] = record.data
                    notes.append(note)

        threads = [threading.Thread(target=run, args=(s, o)) for s, o in ((first, 0), (second, 10_000))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(acked) == list(range(300))
    with LogStore(open_backend(url, readonly=True), verifiers=[SIGNER.verifier]) as store:
        assert store.size == 300
        assert [row.data for row in store.entries(0, 300)] == [acked[i] for i in range(300)]
        for note in notes:
            handed_out = verify_checkpoint(note, [SIGNER.verifier], origin=ORIGIN).checkpoint
            assert handed_out.root_hash == reference.mth([acked[i] for i in range(handed_out.size)])
            proof = store.consistency_proof(handed_out.size, 300)
            verify_consistency(handed_out.size, 300, proof, handed_out.root_hash, store.root())
    backend = open_backend(url, readonly=True)
    try:
        report = audit_log(backend, [SIGNER.verifier])
    finally:
        backend.close()
    assert report.ok, report.findings[:5]
    assert report.entries == 300


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM log_entries WHERE idx = 2",
        "DELETE FROM log_entries WHERE idx = 4",
        "UPDATE log_entries SET leaf_hash = decode(repeat('00', 32), 'hex') WHERE idx = 1",
        "INSERT INTO log_entries VALUES (5, decode(repeat('00', 32), 'hex'), '\\x00'::bytea)",
        "DELETE FROM log_checkpoints WHERE size = 5",
    ],
)
def test_open_refuses_rows_that_do_not_match_the_latest_checkpoint(
    postgres: PostgresCluster, tamper: str
) -> None:
    url = postgres.new_database()
    with open_store(url) as store:
        for n in range(5):
            store.append(build_record("authorization.denied", denial(n), at=AT))
    _sql(url, tamper)
    with pytest.raises(VerificationError) as err:
        open_store(url)
    assert err.value.code == "log.store_inconsistent"


def test_an_entry_edited_in_the_database_fails_the_audit_at_its_index(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    url = postgres.new_database()
    with open_store(url) as store:
        for n in range(6):
            store.append(build_record("authorization.denied", denial(n), at=AT))
    _sql(
        url,
        "UPDATE log_entries SET data = convert_to(replace(convert_from(data, 'UTF8'), 'dec-3', 'dec-7'), "
        "'UTF8') WHERE idx = 3",
    )
    key = tmp_path / "log.pub"
    key.write_text(SIGNER.verifier.vkey + "\n", encoding="ascii")
    result = CliRunner().invoke(main, ["audit", "verify", "--db", url, "--log-key", str(key), "--json"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["first_bad_index"] == 3
    assert {f["code"] for f in out["findings"]} >= {"log.store_inconsistent"}


def test_cli_reads_a_postgres_log(postgres: PostgresCluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    with open_store(url) as store:
        for n in range(3):
            store.append(build_record("authorization.denied", denial(n), at=AT))
    key = tmp_path / "log.pub"
    key.write_text(SIGNER.verifier.vkey + "\n", encoding="ascii")
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "verify", "--db", url, "--log-key", str(key), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["entries"] == 3
    result = runner.invoke(main, ["log", "checkpoint", "--db", url, "--log-key", str(key), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["size"] == 3
    result = runner.invoke(main, ["log", "prove", "--db", url, "--log-key", str(key), "--index", "1"])
    assert result.exit_code == 0, result.output


def test_read_only_backend_refuses_writes_and_a_missing_log(postgres: PostgresCluster) -> None:
    url = postgres.new_database()
    with pytest.raises(ServiceUnavailableError) as err:
        open_backend(url, readonly=True)
    assert err.value.code == "log.store_unavailable"
    assert "not an attestgw log" in err.value.message
    open_store(url).close()
    backend = open_backend(url, readonly=True)
    try:
        with pytest.raises(ServiceUnavailableError) as err, backend.write():
            pass
        assert err.value.code == "log.store_read_only"
    finally:
        backend.close()


def test_another_log_in_the_database_is_refused(postgres: PostgresCluster) -> None:
    url = postgres.new_database()
    open_store(url).close()
    with pytest.raises(AttestgwError) as err:
        open_backend(url, origin="other.example/log")
    assert err.value.code == "log.store_unavailable"


def test_an_unreachable_server_is_unavailable_and_the_password_is_not_shown(tmp_path: Path) -> None:
    url = f"postgresql://gateway:s3cret-pw@/log?host={tmp_path}&port=1"
    with pytest.raises(ServiceUnavailableError) as err:
        open_backend(url, origin=ORIGIN)
    assert err.value.code == "log.store_unavailable"
    assert "s3cret-pw" not in str(err.value)
    assert "postgresql://gateway@" in err.value.message
