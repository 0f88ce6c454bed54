"""The demo's look at the evidence log: the signed checkpoint, and one attestation proven included.

Reads the gateway's SQLite log read-only (the gateway keeps writing) and checks, as an auditor would
with only the log's public key: the checkpoint's signature, then that the ``attestation.appraised``
entry the worker's latest admission rests on is in the tree the checkpoint commits to (an RFC 9162
inclusion proof recomputed from the stored entry bytes).
"""

from __future__ import annotations

from pathlib import Path

import click

from attestgw.log import LogStore, load_verifiers, parse_record, verify_checkpoint
from attestgw.log.database import open_backend
from attestgw.merkle.hashing import leaf_hash
from attestgw.merkle.proofs import verify_inclusion

__all__ = ["log_summary"]


def log_summary(db: Path, public_key: Path) -> list[str]:
    """Human-readable lines; raises an ``AttestgwError`` when a check fails."""
    verifiers = load_verifiers(public_key)
    store = LogStore(open_backend(db, readonly=True), verifiers=verifiers)
    try:
        note = store.checkpoint()
        checkpoint = verify_checkpoint(note, verifiers, origin=store.origin).checkpoint
        size = checkpoint.size
        records = [(row, parse_record(row.data)) for row in store.entries(0, size)]
        counts: dict[str, int] = {}
        for _, record in records:
            counts[record.type] = counts.get(record.type, 0) + 1
        admitted = [record for _, record in records if record.type == "worker.admitted"]
        lines = [
            click.style("checkpoint VERIFIED", fg="green", bold=True) + f"  signed by {verifiers[0].name}",
            *("  " + text for text in note.decode("utf-8").splitlines() if text),
            "entries  " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(counts.items())),
        ]
        if not admitted:
            return [*lines, "no admission recorded yet"]
        index = int(admitted[-1].fields["attestation_index"])
        row, record = records[index]
        proof = store.inclusion_proof(index, size)
        verify_inclusion(leaf_hash(row.data), index, size, proof, checkpoint.root_hash)
        return [
            *lines,
            click.style(f"entry {index} INCLUDED", fg="green", bold=True)
            + f"  ({len(proof)}-hash proof against the checkpoint's root)",
            f"  {record.type}: worker {record.fields['worker']}, status {record.fields['status']},"
            f" measurement {str(record.fields['measurement'])[:24]}…",
        ]
    finally:
        store.close()
