"""The SDK's evidence-log check without I/O: headers → signature → entry → inclusion → consistency,
each failure with its code (table), and the kept checkpoint (memory and state file)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from attestgw.client.logcheck import (
    LOG_CHECKPOINT_HEADER,
    LOG_ENTRY_HEADER,
    LOG_INCLUSION_HEADER,
    LOG_INDEX_HEADER,
    LogInclusion,
    LogMonitor,
    parse_log_headers,
)
from attestgw.errors import AttestgwError
from attestgw.log import Evidence, NoteSigner, attestation_fields, build_record, sign_checkpoint
from attestgw.merkle import Checkpoint, MerkleTree, leaf_hash

ORIGIN = "attestgw.test/unit"
SIGNER = NoteSigner.generate(ORIGIN)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _record(bundle: bytes, nonce: bytes) -> bytes:
    fields = attestation_fields(
        worker="w1", status="affirming", codes=(), verified_at=AT, valid_for=timedelta(minutes=5),
        ear=None, measurement=b"\x01" * 48, instance_digest=b"\x02" * 32, simulated=True,
    )  # fmt: skip
    evidence = Evidence(bundle, nonce, b"policy")
    return build_record("attestation.appraised", {**fields, **evidence.digests}, at=AT).data


class Log:
    """A log of ``attestation.appraised`` records for bundles b"bundle-<i>" and nonces b"nonce-<i>"."""

    def __init__(self, size: int) -> None:
        self.entries = [_record(f"bundle-{i}".encode(), f"nonce-{i}".encode()) for i in range(size)]
        self.tree = MerkleTree(leaf_hash(e) for e in self.entries)

    def note(self, size: int | None = None, signer: NoteSigner = SIGNER) -> bytes:
        n = len(self.entries) if size is None else size
        return sign_checkpoint(Checkpoint(ORIGIN, n, self.tree.root(n)), signer)

    def headers(self, index: int, size: int | None = None) -> dict[str, str]:
        n = len(self.entries) if size is None else size
        return {
            LOG_INDEX_HEADER: str(index),
            LOG_ENTRY_HEADER: base64.b64encode(self.entries[index]).decode(),
            LOG_CHECKPOINT_HEADER: base64.b64encode(self.note(n)).decode(),
            LOG_INCLUSION_HEADER: ",".join(
                base64.b64encode(h).decode() for h in self.tree.inclusion_proof(index, n)
            ),
        }


def _monitor(state: Path | None = None) -> LogMonitor:
    return LogMonitor.from_key(SIGNER.verifier.vkey, state_file=state)


def _check(monitor: LogMonitor, log: Log, headers: dict[str, str], i: int) -> LogInclusion:
    pending = monitor.begin(parse_log_headers(headers), f"bundle-{i}".encode(), f"nonce-{i}".encode())
    proof = log.tree.consistency_proof(*pending.pair) if pending.pair else ()
    return pending.finish(proof)


def test_an_entry_of_a_signed_tree_is_proven_and_its_checkpoint_kept() -> None:
    log, monitor = Log(7), _monitor()
    inclusion = _check(monitor, log, log.headers(3), 3)
    assert inclusion.index == 3
    assert inclusion.size == 7
    assert inclusion.consistent_with is None
    assert monitor.kept() == Checkpoint(ORIGIN, 7, log.tree.root(7))


def _set(name: str, value: str) -> Callable[[dict[str, str]], None]:
    return lambda h: h.__setitem__(name, value)


def _other_key(h: dict[str, str]) -> None:
    h[LOG_CHECKPOINT_HEADER] = base64.b64encode(Log(7).note(signer=NoteSigner.generate(ORIGIN))).decode()


def _flip_proof(h: dict[str, str]) -> None:
    first, *rest = h[LOG_INCLUSION_HEADER].split(",")
    raw = bytearray(base64.b64decode(first))
    raw[0] ^= 1
    h[LOG_INCLUSION_HEADER] = ",".join([base64.b64encode(bytes(raw)).decode(), *rest])


def _truncate_proof(h: dict[str, str]) -> None:
    h[LOG_INCLUSION_HEADER] = h[LOG_INCLUSION_HEADER].split(",")[0]


def _other_entry(h: dict[str, str]) -> None:  # a real entry of the tree, but another bundle's
    log = Log(7)
    h.update(log.headers(4))


@pytest.mark.parametrize(
    ("case", "edit", "code"),
    [
        ("no headers", lambda h: h.clear(), "log.proof_missing"),
        ("index missing", lambda h: h.pop(LOG_INDEX_HEADER), "log.response_malformed"),
        ("index not decimal", _set(LOG_INDEX_HEADER, "-1"), "log.response_malformed"),
        ("entry not base64", _set(LOG_ENTRY_HEADER, "%%%"), "log.response_malformed"),
        ("checkpoint by another key", _other_key, "log.unknown_key"),
        ("entry is no record", _set(LOG_ENTRY_HEADER, "e30="), "log.entry_mismatch"),  # b"{}"
        ("record of another bundle", _other_entry, "log.entry_mismatch"),
        ("proof tampered", _flip_proof, "log.proof_invalid"),
        ("proof truncated", _truncate_proof, "log.proof_malformed"),
        ("index moved", _set(LOG_INDEX_HEADER, "2"), "log.proof_invalid"),
    ],
)  # fmt: skip
def test_every_lie_about_the_log_is_refused_with_its_code(
    case: str, edit: Callable[[dict[str, str]], None], code: str
) -> None:
    log, monitor = Log(7), _monitor()
    headers = log.headers(3)
    edit(headers)
    with pytest.raises(AttestgwError) as err:
        _check(monitor, log, headers, 3)
    assert err.value.code == code, case
    assert monitor.kept() is None


def test_newer_and_older_checkpoints_are_checked_for_consistency() -> None:
    log, monitor = Log(9), _monitor()
    _check(monitor, log, log.headers(1, 3), 1)
    newer = _check(monitor, log, log.headers(5, 8), 5)
    assert newer.consistent_with == 3
    older = _check(monitor, log, log.headers(2, 5), 2)  # an older checkpoint is fine when consistent
    assert older.consistent_with == 8
    assert monitor.kept() == Checkpoint(ORIGIN, 8, log.tree.root(8))  # the larger one is kept


def test_a_checkpoint_of_another_history_is_a_split_view() -> None:
    log, fork, monitor = Log(8), Log(8), _monitor()
    fork.entries[2] = _record(b"rewritten", b"nonce-2")
    fork.tree = MerkleTree(leaf_hash(e) for e in fork.entries)
    _check(monitor, log, log.headers(1, 4), 1)
    same_size = fork.headers(3, 4)  # same size, other root: no proof needed to see the fork
    with pytest.raises(AttestgwError) as err:
        _check(monitor, fork, same_size, 3)
    assert err.value.code == "log.split_view"
    with pytest.raises(AttestgwError) as err:  # larger: the fork's proof cannot reach the kept root
        _check(monitor, fork, fork.headers(5, 8), 5)
    assert err.value.code == "log.split_view"
    assert monitor.kept() == Checkpoint(ORIGIN, 4, log.tree.root(4))


def test_the_state_file_survives_the_monitor_and_is_verified_when_read(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    log = Log(6)
    _check(_monitor(state), log, log.headers(0, 3), 0)
    saved = json.loads(state.read_text())
    assert saved[ORIGIN].startswith(ORIGIN + "\n3\n")
    again = _monitor(state)
    assert again.kept() == Checkpoint(ORIGIN, 3, log.tree.root(3))
    state.write_text(json.dumps({ORIGIN: Log(6).note(3, NoteSigner.generate(ORIGIN)).decode()}))
    with pytest.raises(AttestgwError) as err:
        _monitor(state)
    assert err.value.code == "log.unknown_key"


def test_keys_of_two_logs_in_one_monitor_are_refused() -> None:
    with pytest.raises(AttestgwError) as err:
        LogMonitor([SIGNER.verifier, NoteSigner.generate("other.log").verifier])
    assert err.value.code == "log.key_invalid"
