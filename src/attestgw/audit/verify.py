"""Audit an evidence log offline: recompute everything from the stored rows and report every problem.

:func:`audit_log` reads a :class:`~attestgw.log.backend.Backend` (it never writes) and:

1. walks the entries in index order: a missing index is ``log.store_inconsistent``; each leaf hash is
   recomputed from the stored record bytes (a stored leaf hash that differs is
   ``log.store_inconsistent``) and appended to a fresh tree;
2. parses every record (canonical JSON, version, schema: ``log.record_*``);
3. from entry ``start`` on: re-verifies each attestation entry with its stored evidence at its
   recorded time (:mod:`attestgw.audit.evidence`, unless ``reverify=False``) and checks every
   reference to an attestation (:mod:`attestgw.audit.references`);
4. each time the tree reaches the size of a stored checkpoint: verifies its signature with the
   trusted keys (``log.signature_invalid``/``log.unknown_key``/…), requires its root to equal the
   recomputed root (``log.checkpoint_mismatch``, naming the first entry after the last checkpoint
   that matched, since the tampered entry lies in between), and verifies an RFC 9162 consistency
   proof from the previous checkpoint (implied by the equal roots; checked anyway as a client would);
5. a ``log.key_rotated`` entry whose old key is trusted (else ``log.unknown_key`` at that entry) adds
   its new key to the trusted set, and retires the old key, once a checkpoint signed by a trusted
   key covers it; a later checkpoint signed by a retired key is ``log.key_retired``, and one signed
   by a key no rotation introduced is ``log.unknown_key`` (both name the checkpoint's last entry);
6. at the end: checkpoints beyond the stored entries, and entries no checkpoint covers, are findings.

Every finding is collected; nothing stops at the first. Not checked: that the log served these same
checkpoints to its clients (compare the checkpoints they kept), and deleted *checkpoint* rows whose
neighbours still verify (the history is intact; only that tree head is gone).
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable, Iterable

from attestgw.audit.evidence import reverify_attestation
from attestgw.audit.findings import AuditReport, Finding
from attestgw.audit.references import AttestationFacts, check_references
from attestgw.errors import AttestgwError
from attestgw.log.backend import Backend, EntryRow
from attestgw.log.records import parse_record
from attestgw.log.signing import NoteVerifier, verify_checkpoint
from attestgw.merkle import MerkleTree, leaf_hash, verify_consistency

__all__ = ["audit_log"]


class _Audit:
    def __init__(
        self, backend: Backend, verifiers: Iterable[NoteVerifier], start: int, reverify: bool
    ) -> None:
        self.backend = backend
        self.origin = backend.origin
        self.trusted = list(verifiers)
        self.pending_keys: list[tuple[int, NoteVerifier, str]] = []  # (index, new key, old vkey)
        self.retired: list[tuple[int, NoteVerifier]] = []  # (rotation index, old key)
        self.start = start
        self.reverify = reverify
        self.tree = MerkleTree()
        self.findings: list[Finding] = []
        self.counts: Counter[str] = Counter()
        self.attestations: dict[int, AttestationFacts] = {}
        self.reverified = 0
        self.checked = 0
        self.checkpoints = list(backend.checkpoints())
        self.next_checkpoint = 0
        self.last_good: tuple[int, bytes] | None = None  # (size, root) of the last checkpoint that matched

    def add(self, index: int | None, code: str, message: str) -> None:
        self.findings.append(Finding(index, code, message))

    # 1-3. entries
    def entry(self, row: EntryRow) -> None:
        index = len(self.tree)
        if row.index != index:
            self.add(
                index, "log.store_inconsistent", f"entry {index} is missing (next stored index: {row.index})"
            )
        value = leaf_hash(row.data)
        if not hmac.compare_digest(value, row.leaf_hash):
            self.add(
                index, "log.store_inconsistent", "the stored leaf hash is not the hash of the stored record"
            )
        self.tree.append(value)
        try:
            record = parse_record(row.data)
        except AttestgwError as err:
            self.add(index, err.code, err.message)
            self.counts["(unreadable)"] += 1
            self.checkpoints_up_to(len(self.tree))
            return
        self.counts[record.type] += 1
        if record.type == "attestation.appraised":
            facts = AttestationFacts.of(record)
            if index >= self.start and self.reverify:
                found = reverify_attestation(index, record, row.evidence)
                self.reverified += 1
                facts.reverified_ok = not found
                self.findings.extend(found)
            self.attestations[index] = facts
        elif record.type == "log.key_rotated":
            self.rotation(index, record.fields["old_key"], record.fields["new_key"])
        if index >= self.start:
            self.checked += 1
            self.findings.extend(check_references(index, record, self.attestations))
        self.checkpoints_up_to(len(self.tree))

    def rotation(self, index: int, old: str, new: str) -> None:
        if not any(v.vkey == old for v in self.trusted):
            self.add(index, "log.unknown_key", "a key rotation names an old key the auditor does not trust")
            return
        try:
            self.pending_keys.append((index, NoteVerifier.from_vkey(new), old))
        except AttestgwError as err:
            self.add(index, err.code, f"the rotation's new key is unusable: {err.message}")

    # 4-5. checkpoints
    def checkpoints_up_to(self, size: int) -> None:
        while (
            self.next_checkpoint < len(self.checkpoints) and self.checkpoints[self.next_checkpoint][0] <= size
        ):
            stored_size, note = self.checkpoints[self.next_checkpoint]
            self.next_checkpoint += 1
            self.checkpoint(stored_size, note)

    def checkpoint(self, size: int, note: bytes) -> None:
        where = size - 1 if size else None
        try:
            verified = verify_checkpoint(note, self.trusted, origin=self.origin).checkpoint
        except AttestgwError as err:
            self.add(where, *self.signature_finding(size, note, err))
            return
        if verified.size != size:
            self.add(
                where,
                "log.checkpoint_mismatch",
                f"the checkpoint stored as size {size} is for {verified.size}",
            )
            return
        if not hmac.compare_digest(verified.root_hash, self.tree.root(size)):
            first = self.last_good[0] if self.last_good else 0
            self.add(
                first,
                "log.checkpoint_mismatch",
                f"checkpoint {size}'s root differs from the stored entries: "
                f"an entry in [{first}, {size}) changed",
            )
            return
        if self.last_good is not None and self.last_good[0] > 0:
            old, old_root = self.last_good
            try:
                verify_consistency(
                    old, size, self.tree.consistency_proof(old, size), old_root, verified.root_hash
                )
            except AttestgwError as err:  # pragma: no cover - implied by the equal roots
                self.add(where, err.code, f"checkpoints {old} → {size}: {err.message}")
        self.last_good = (size, verified.root_hash)
        for pending in [p for p in self.pending_keys if p[0] < size]:
            index, key, old_vkey = pending
            self.pending_keys.remove(pending)
            self.retired += [(index, v) for v in self.trusted if v.vkey == old_vkey]
            self.trusted = [v for v in self.trusted if v.vkey != old_vkey]
            if key not in self.trusted:
                self.trusted.append(key)

    def signature_finding(self, size: int, note: bytes, err: AttestgwError) -> tuple[str, str]:
        """(code, message) for a checkpoint no trusted key vouches for: say so when a retired key did."""
        if err.code == "log.unknown_key":
            for index, key in self.retired:
                try:
                    verify_checkpoint(note, [key], origin=self.origin)
                except AttestgwError:
                    continue
                return (
                    "log.key_retired",
                    f"checkpoint {size} is signed by {key.name}+{key.key_id:08x}, "
                    f"which the key rotation at entry {index} retired",
                )
        return err.code, f"checkpoint {size}: {err.message}"

    # 6. the end
    def finish(self) -> AuditReport:
        size = len(self.tree)
        for stored_size, _ in self.checkpoints[self.next_checkpoint :]:
            self.add(
                size,
                "log.checkpoint_mismatch",
                f"checkpoint {stored_size} covers entries that are not stored",
            )
        covered = self.checkpoints[-1][0] if self.checkpoints else 0
        if size > covered:
            self.add(
                covered, "log.store_inconsistent", f"entries [{covered}, {size}) are covered by no checkpoint"
            )
        if not self.checkpoints:
            self.add(None, "log.store_inconsistent", "the log holds no checkpoint")
        self.findings.sort(key=lambda f: -1 if f.index is None else f.index)
        return AuditReport(
            origin=self.origin,
            entries=size,
            checkpoints=len(self.checkpoints),
            start=self.start,
            entries_checked=self.checked,
            attestations_reverified=self.reverified,
            findings=tuple(self.findings),
            counts=dict(self.counts),
        )


def audit_log(
    backend: Backend,
    verifiers: Iterable[NoteVerifier],
    *,
    start: int = 0,
    reverify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Steps 1-6 of the module docstring over every stored row; never raises for what it finds.

    ``start`` limits step 3 (re-verification, reference checks) to entries from that index; the tree,
    records and checkpoints are always checked from the first entry. ``progress`` gets the number of
    entries read, every 4096 entries.
    """
    audit = _Audit(backend, verifiers, start, reverify)
    audit.checkpoints_up_to(0)
    for count, row in enumerate(backend.rows(0, evidence=reverify), start=1):
        audit.entry(row)
        if progress is not None and count % 4096 == 0:
            progress(count)
    return audit.finish()
