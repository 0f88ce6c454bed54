"""The evidence log service: durable batched appends, signed checkpoints, proofs (layer L4).

:class:`LogStore` wraps a storage :class:`~attestgw.log.backend.Backend` and keeps the RFC 9162 tree
in memory. Its contract, which the gateway relies on:

1. :meth:`LogStore.append` returns the entry's index only after the entry, and the signed checkpoint
   covering it, are committed durably (fsync'd); :meth:`LogStore.submit` is the same as a future, for
   callers that must not block (``asyncio.wrap_future``);
2. appends are batched by a :class:`~attestgw.log.sequencer.Sequencer`: one transaction per batch,
   one checkpoint signature per batch;
3. each batch transaction holds the backend's cross-process write lock and first loads entries other
   processes appended since this process last looked, so indices are assigned once and every
   process builds the same tree (PostgreSQL replicas; a second process on one SQLite file);
4. a checkpoint is only ever signed for a root computed from every stored leaf, so no two
   checkpoints of one log are inconsistent;
5. opening rebuilds the tree from the stored leaf hashes and refuses (``log.store_inconsistent``) a
   log whose indices have gaps, whose entries outnumber its latest checkpoint, or whose root differs
   from it; when verifiers are given, the latest checkpoint's signature is checked too;
6. :meth:`LogStore.rotate_key` appends a ``log.key_rotated`` record naming the old and the new key, in
   a transaction of its own whose checkpoint the old key signs (and the new key cosigns, proving
   possession); later checkpoints are signed by the new key only. The storage's ``signing_key``
   records which key writers must use: a writer (this process at open, or a replica at its next
   batch) holding another key is refused (``log.key_retired``) instead of signing with a retired key.

Not checked at open: that each stored leaf hash is the hash of its stored record bytes, record
schemas, stored evidence, or older checkpoints — that is :mod:`attestgw.audit`'s full re-check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from attestgw.clock import utcnow
from attestgw.errors import FormatError, ServiceUnavailableError, VerificationError
from attestgw.log.backend import Backend, EntryRow, WriteTransaction
from attestgw.log.keys import CheckpointSigner
from attestgw.log.records import Evidence, Record, build_record
from attestgw.log.sequencer import Sequencer
from attestgw.log.signing import NoteVerifier, verify_checkpoint
from attestgw.merkle import Checkpoint, MerkleTree, Note, format_note, leaf_hash, parse_checkpoint, parse_note

__all__ = ["BatchSettings", "LogStore"]


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """How the sequencer batches: wait up to ``max_delay`` seconds for up to ``max_entries`` appends."""

    max_entries: int = 1024
    max_delay: float = 0.002


@dataclass(frozen=True, slots=True)
class _Pending:
    data: bytes
    evidence: Evidence | None


def _inconsistent(message: str) -> VerificationError:
    return VerificationError("log.store_inconsistent", message)


class LogStore:
    """One evidence log (module docstring). Without a ``signer`` it is read-only.

    The signer's key name must equal the log's origin (tlog-checkpoint). Thread-safe: appends go
    through the sequencer thread; readers share the tree under a lock.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        signer: CheckpointSigner | None = None,
        verifiers: Iterable[NoteVerifier] = (),
        batch: BatchSettings = BatchSettings(),
    ) -> None:
        self._backend = backend
        self._signer = signer
        self._verifiers = tuple(verifiers) + ((signer.verifier,) if signer is not None else ())
        if signer is not None and signer.name != backend.origin:
            raise FormatError(
                "log.key_invalid", f"the log key is named {signer.name!r}, the log {backend.origin!r}"
            )
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._write_mutex = threading.Lock()  # one write transaction at a time from this process
        self._tree = MerkleTree()
        self._latest: tuple[int, bytes] | None = None
        self._load()
        self._sequencer: Sequencer[_Pending, int] | None = None
        if signer is not None:
            if self._backend.latest_checkpoint() is None:
                self._write_batch([])  # a new log starts with a signed checkpoint of the empty tree
            else:
                with self._backend.write() as txn:
                    self._claim_signing_key(txn, signer)
            self._sequencer = Sequencer(
                self._write_batch, max_entries=batch.max_entries, max_delay=batch.max_delay
            )

    # -- opening --------------------------------------------------------------------------------

    def _load(self) -> None:
        hashes = bytearray()
        for expected, (index, value) in enumerate(self._backend.leaf_hashes(0)):
            if index != expected:
                raise _inconsistent(f"entry {expected} is missing (the next stored index is {index})")
            hashes += value
        tree = MerkleTree(bytes(hashes[i : i + 32]) for i in range(0, len(hashes), 32))
        latest = self._backend.latest_checkpoint()
        size = len(tree)
        if latest is None:
            if size:
                raise _inconsistent(f"{size} entries are stored but no checkpoint covers them")
        else:
            checkpoint = self._check_note(latest[1])
            if checkpoint.size != latest[0] or checkpoint.size != size:
                raise _inconsistent(
                    f"{size} entries are stored; the latest checkpoint is for {checkpoint.size}"
                )
            if checkpoint.root_hash != tree.root():
                raise _inconsistent(f"the stored entries do not reproduce the root of checkpoint {size}")
        self._tree, self._latest = tree, latest

    def _check_note(self, note: bytes) -> Checkpoint:
        if self._verifiers:
            return verify_checkpoint(note, self._verifiers, origin=self._backend.origin).checkpoint
        checkpoint = parse_checkpoint(parse_note(note).text)
        if checkpoint.origin != self._backend.origin:
            raise _inconsistent(f"a stored checkpoint names the log {checkpoint.origin!r}")
        return checkpoint

    # -- appending ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._backend.origin

    def submit(self, record: Record, evidence: Evidence | None = None) -> Future[int]:
        """Queue ``record``; the future resolves to its index once it and its checkpoint are durable."""
        if self._sequencer is None:
            raise ServiceUnavailableError("log.store_read_only", "the log was opened without a signing key")
        if record.type == "attestation.appraised":
            if evidence is None:
                raise FormatError("log.evidence_missing", "an attestation record needs its evidence")
            for name, digest in evidence.digests.items():
                if record.fields.get(name) != digest:
                    raise FormatError("log.evidence_mismatch", f"the record's {name} is not the evidence's")
        elif evidence is not None:
            raise FormatError("log.record_malformed", f"{record.type} records carry no evidence")
        return self._sequencer.submit(_Pending(record.data, evidence))

    def append(
        self, record: Record, evidence: Evidence | None = None, *, timeout: float | None = None
    ) -> int:
        """Append and wait until durable (contract point 1); returns the entry index."""
        return self.submit(record, evidence).result(timeout)

    def rotate_key(self, new_signer: CheckpointSigner, *, at: datetime | None = None) -> int:
        """Rotate the log key (contract point 6); returns the index of the ``log.key_rotated`` entry
        once it, and its checkpoint signed by the old key, are durable. Batches committed after it
        (including appends still queued when it was called) are signed by ``new_signer``."""
        old = self._signer
        if old is None or self._sequencer is None:
            raise ServiceUnavailableError("log.store_read_only", "the log was opened without a signing key")
        if new_signer.name != self._backend.origin:
            raise FormatError(
                "log.key_invalid", f"the new key is named {new_signer.name!r}, the log {self.origin!r}"
            )
        if new_signer.verifier.vkey == old.verifier.vkey:
            raise FormatError("log.key_invalid", "the new log key is the current one")
        fields = {"old_key": old.verifier.vkey, "new_key": new_signer.verifier.vkey}
        record = build_record("log.key_rotated", fields, at=at if at is not None else utcnow())
        return self._commit([_Pending(record.data, None)], rotate_to=new_signer)[0]

    def _write_batch(self, batch: Sequence[_Pending]) -> list[int]:
        return self._commit(batch)

    @staticmethod
    def _claim_signing_key(txn: WriteTransaction, signer: CheckpointSigner) -> None:
        current = txn.signing_key()
        if current is None:
            txn.set_signing_key(signer.verifier.vkey)
        elif current != signer.verifier.vkey:
            raise ServiceUnavailableError(
                "log.key_retired",
                f"the log key {signer.name}+{signer.verifier.key_id:08x} was rotated out; "
                f"checkpoints are now signed by {current.split('+')[1] if '+' in current else '?'}",
            )

    def _commit(self, batch: Sequence[_Pending], rotate_to: CheckpointSigner | None = None) -> list[int]:
        with self._write_mutex:
            signer = self._signer
            assert signer is not None
            committed: int | None = None
            try:
                with self._backend.write() as txn:
                    self._claim_signing_key(txn, signer)
                    with self._lock:
                        self._adopt(txn.rows_since(len(self._tree)))
                        committed = first = len(self._tree)
                        rows = []
                        for offset, item in enumerate(batch):
                            value = leaf_hash(item.data)
                            rows.append(EntryRow(first + offset, value, item.data, item.evidence))
                            self._tree.append(value)
                        size = len(self._tree)
                        root = self._tree.root()
                    text = Checkpoint(self._backend.origin, size, root).to_text()
                    signatures = (signer.sign(text),) + ((rotate_to.sign(text),) if rotate_to else ())
                    note = format_note(Note(text, signatures))
                    txn.insert(rows, size, note)
                    if rotate_to is not None:
                        txn.set_signing_key(rotate_to.verifier.vkey)
            except BaseException:
                if committed is not None:  # not durable (or unknown): a later batch adopts it if it is
                    self._truncate(committed)
                raise
            if rotate_to is not None:
                self._signer = rotate_to
                self._verifiers += (rotate_to.verifier,)
            with self._cond:
                self._latest = (size, note)
                self._cond.notify_all()
        return [row.index for row in rows]

    def _adopt(self, rows: Sequence[EntryRow]) -> None:
        """Extend the tree with entries another process committed (under the write lock)."""
        for row in rows:
            if row.index != len(self._tree):
                raise _inconsistent(f"entry {len(self._tree)} is missing (another writer stored {row.index})")
            if leaf_hash(row.data) != row.leaf_hash:
                raise _inconsistent(f"entry {row.index}'s stored leaf hash is not the hash of its record")
            self._tree.append(row.leaf_hash)

    def _truncate(self, size: int) -> None:
        with self._lock:
            if len(self._tree) != size:
                self._tree = MerkleTree(self._tree.leaf_hash(i) for i in range(size))

    def close(self) -> None:
        """Finish queued appends, stop the sequencer and close the backend."""
        if self._sequencer is not None:
            self._sequencer.close()
        self._backend.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Load entries and the checkpoint other processes committed since this one last looked."""
        latest = self._backend.latest_checkpoint()
        with self._lock:
            if latest is None or (self._latest is not None and latest[0] <= self._latest[0]):
                return
            rows = list(self._backend.rows(len(self._tree), latest[0]))
            self._adopt(rows)
            if len(self._tree) != latest[0] or self._check_note(latest[1]).root_hash != self._tree.root():
                raise _inconsistent(f"the entries do not reproduce the root of checkpoint {latest[0]}")
            self._latest = latest

    @property
    def size(self) -> int:
        """The size of the latest checkpoint this process knows (every entry below it is durable)."""
        with self._lock:
            return self._latest[0] if self._latest is not None else 0

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint (after :meth:`refresh`); ``log.store_inconsistent`` if none yet."""
        self.refresh()
        with self._lock:
            if self._latest is None:
                raise ServiceUnavailableError("log.store_inconsistent", "the log has no checkpoint yet")
            return self._latest[1]

    def wait_for_checkpoint(self, index: int, timeout: float | None = None) -> bytes:
        """The latest signed checkpoint once it includes entry ``index``.

        Every append is committed together with its checkpoint, so for an index this process
        acknowledged it returns at once. Otherwise it waits up to ``timeout`` seconds (default: not at
        all) for this process's appends, then looks for other processes' commits; an index still not
        covered is ``log.index_out_of_range``.
        """
        with self._cond:
            self._cond.wait_for(lambda: self.size > index, timeout=timeout or 0)
        if self.size <= index:
            self.refresh()
        with self._lock:
            if self._latest is None or self._latest[0] <= index:
                raise FormatError(
                    "log.index_out_of_range", f"entry {index} is not in the log (size {self.size})"
                )
            return self._latest[1]

    def entries(self, start: int, end: int) -> list[EntryRow]:
        """Stored entries ``[start, end)`` (record bytes and stored leaf hash; evidence included)."""
        size = self.size
        if not 0 <= start < end <= size:
            raise FormatError("log.index_out_of_range", f"[{start}, {end}) is not inside [0, {size})")
        return list(self._backend.rows(start, end, evidence=True))

    def inclusion_proof(self, index: int, size: int | None = None) -> tuple[bytes, ...]:
        """RFC 9162 inclusion proof of ``index`` in the tree of ``size`` (default: latest checkpoint)."""
        n = self._known_size(size)
        with self._lock:
            return self._tree.inclusion_proof(index, n)

    def consistency_proof(self, old: int, new: int | None = None) -> tuple[bytes, ...]:
        """RFC 9162 consistency proof from tree size ``old`` to ``new`` (default: latest checkpoint)."""
        n = self._known_size(new)
        with self._lock:
            return self._tree.consistency_proof(old, n)

    def root(self, size: int | None = None) -> bytes:
        n = self._known_size(size)
        with self._lock:
            return self._tree.root(n)

    def _known_size(self, size: int | None) -> int:
        if size is not None and size > self.size:
            self.refresh()
        if size is None:
            return self.size
        if size > self.size:
            raise FormatError("log.tree_size_invalid", f"tree size {size} is beyond the log's {self.size}")
        return size
