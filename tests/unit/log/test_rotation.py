"""Log key rotation: the old key signs the checkpoint of a ``log.key_rotated`` entry naming the new key,
the new key signs from then on, and an auditor holding only the original key follows it. A rotation
that is absent, not signed by the old key, or a retired key signing afterwards fails the audit at the
index where it happened."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestgw.audit import AuditReport, audit_log
from attestgw.cli import main
from attestgw.errors import AttestgwError, FormatError, ServiceUnavailableError
from attestgw.log import LogStore, NoteSigner, build_record, open_backend, parse_record, verify_note
from attestgw.merkle import parse_note
from tests.unit.log.logdata import ORIGIN, SIGNER, denial, open_store

AT = datetime(2026, 5, 1, tzinfo=UTC)
NEW = NoteSigner.from_seed(ORIGIN, bytes(range(100, 132)))
NewLog = Callable[[], str | Path]


def _deny(store: LogStore, n: int) -> int:
    return store.append(build_record("authorization.denied", denial(n), at=AT))


def _audit(location: str | Path, *keys: NoteSigner) -> AuditReport:
    backend = open_backend(location, readonly=True)
    try:
        return audit_log(backend, [k.verifier for k in keys])
    finally:
        backend.close()


def _set_signing_key(path: Path, signer: NoteSigner) -> None:
    """What an attacker with write access to the database (but not the old key) can do."""
    conn = sqlite3.connect(path)
    conn.execute("UPDATE log_meta SET value = ? WHERE key = 'signing_key'", (signer.verifier.vkey,))
    conn.commit()
    conn.close()


def test_rotation_is_followed_from_the_original_key(new_log: NewLog, tmp_path: Path) -> None:
    location = new_log()
    with open_store(location) as store:
        for n in range(3):
            _deny(store, n)
        index = store.rotate_key(NEW, at=AT)
        rotation_note = store.checkpoint()
        for n in range(3, 6):
            _deny(store, n)
        last_note = store.checkpoint()
    assert index == 3
    # the rotation's checkpoint: signed by the old key, cosigned by the new one
    assert [s.key_id for s in parse_note(rotation_note).signatures] == [
        SIGNER.verifier.key_id,
        NEW.verifier.key_id,
    ]
    assert [s.key_id for s in parse_note(last_note).signatures] == [NEW.verifier.key_id]
    verify_note(last_note, [NEW.verifier])
    with LogStore(open_backend(location, readonly=True)) as reader:
        record = parse_record(reader.entries(3, 4)[0].data)
    assert record.type == "log.key_rotated"
    assert dict(record.fields) == {"old_key": SIGNER.verifier.vkey, "new_key": NEW.verifier.vkey}

    report = _audit(location, SIGNER)
    assert report.ok, report.findings
    assert report.counts["log.key_rotated"] == 1
    # the new key alone does not vouch for the history before the rotation
    assert _audit(location, NEW).first_bad_index == 0
    key = tmp_path / "original.pub"
    key.write_text(SIGNER.verifier.vkey + "\n", encoding="ascii")
    result = CliRunner().invoke(main, ["audit", "verify", "--db", str(location), "--log-key", str(key)])
    assert result.exit_code == 0, result.output
    # the new key goes on signing after a restart; the old one is refused
    with open_store(location, signer=NEW) as store:
        assert _deny(store, 6) == 7
    with pytest.raises(AttestgwError) as err:
        open_store(location)
    assert err.value.code == "log.unknown_key"


def test_a_writer_still_holding_the_old_key_is_retired(new_log: NewLog) -> None:
    location = new_log()
    with open_store(location) as first, open_store(location) as second:
        _deny(first, 0)
        _deny(second, 1)
        first.rotate_key(NEW, at=AT)
        with pytest.raises(ServiceUnavailableError) as err:
            _deny(second, 2)
        assert err.value.code == "log.key_retired"
        assert _deny(first, 3) == 3
    assert _audit(location, SIGNER).ok


def test_rotation_needs_another_key_of_this_log(tmp_path: Path) -> None:
    with open_store(tmp_path / "log.db") as store:
        with pytest.raises(FormatError) as err:
            store.rotate_key(NoteSigner.generate("other.example/log"))
        assert err.value.code == "log.key_invalid"
        with pytest.raises(FormatError) as err:
            store.rotate_key(SIGNER)
        assert err.value.code == "log.key_invalid"


def test_a_new_key_without_a_rotation_entry_fails_at_its_first_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        for n in range(3):
            _deny(store, n)
    _set_signing_key(path, NEW)
    with LogStore(open_backend(path), signer=NEW, verifiers=[SIGNER.verifier]) as store:
        for n in range(3, 5):
            _deny(store, n)
    report = _audit(path, SIGNER)
    assert report.first_bad_index == 3
    assert {(f.index, f.code) for f in report.findings} == {(3, "log.unknown_key"), (4, "log.unknown_key")}


def test_a_rotation_entry_not_signed_by_the_old_key_fails_at_its_index(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        for n in range(3):
            _deny(store, n)
    _set_signing_key(path, NEW)
    with LogStore(open_backend(path), signer=NEW, verifiers=[SIGNER.verifier]) as store:
        fields = {"old_key": SIGNER.verifier.vkey, "new_key": NEW.verifier.vkey}
        assert store.append(build_record("log.key_rotated", fields, at=AT)) == 3  # signed by NEW only
        _deny(store, 3)
    report = _audit(path, SIGNER)
    assert not report.ok
    assert report.first_bad_index == 3
    assert report.findings[0].code == "log.unknown_key"


def test_the_old_key_signing_after_the_rotation_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with open_store(path) as store:
        _deny(store, 0)
        store.rotate_key(NEW, at=AT)
        _deny(store, 1)
    _set_signing_key(path, SIGNER)
    with LogStore(open_backend(path), signer=SIGNER, verifiers=[NEW.verifier]) as store:
        assert _deny(store, 2) == 3
    report = _audit(path, SIGNER)
    assert [(f.index, f.code) for f in report.findings] == [(3, "log.key_retired")]
    assert "rotation at entry 1" in report.findings[0].message
