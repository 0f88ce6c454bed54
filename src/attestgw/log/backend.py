"""What a storage engine must offer the evidence log: the :class:`Backend` protocol and its row types.

Two engines implement it: :mod:`attestgw.log.sqlite` (the embedded default) and
:mod:`attestgw.log.postgres` (several gateway replicas sharing one log). Both keep four tables:

- ``log_meta`` — key/value: ``origin`` (the log's name), ``schema`` (storage version) and
  ``signing_key`` (the verifier key writers must sign with: a hint that keeps a writer holding a
  rotated-out key from signing, not something the audit trusts — it follows ``log.key_rotated``);
- ``log_entries`` — ``idx`` (leaf index), ``leaf_hash`` (``SHA-256(0x00 ‖ data)``), ``data`` (the
  canonical record bytes, hashed into the leaf exactly as stored);
- ``log_evidence`` — beside attestation entries: ``idx``, ``bundle``, ``nonce``, ``policy`` (never in
  the leaf; the leaf holds their digests);
- ``log_checkpoints`` — ``size``, ``note`` (the signed C2SP checkpoint for that tree size).

Writes happen only inside :meth:`Backend.write`, which holds the engine's cross-process write lock
(SQLite ``BEGIN IMMEDIATE``; PostgreSQL a transaction-scoped advisory lock) and commits durably when
the block exits without an exception. Readers never see a half-written batch.

Not done here: hashing, tree maintenance, signing (:mod:`attestgw.log.store`), or any check that
the stored rows are consistent (open-time checks in the store, full checks in :mod:`attestgw.audit`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from attestgw.errors import ServiceUnavailableError
from attestgw.log.records import Evidence

__all__ = ["STORAGE_SCHEMA", "Backend", "EntryRow", "WriteTransaction", "check_meta"]

#: Storage layout version written to ``log_meta``; an engine refuses a database with another one.
STORAGE_SCHEMA = "1"


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One stored entry as read back: its index, stored leaf hash, record bytes and side evidence."""

    index: int
    leaf_hash: bytes
    data: bytes = field(repr=False)
    evidence: Evidence | None = None


class WriteTransaction(Protocol):
    """The inside of :meth:`Backend.write`: the write lock is held until the block exits."""

    def rows_since(self, start: int) -> list[EntryRow]:
        """Entries with ``idx >= start`` (appended by other processes), in index order, no evidence."""
        ...

    def insert(self, rows: Sequence[EntryRow], size: int, note: bytes) -> None:
        """Insert ``rows`` (and their evidence) and the signed checkpoint ``note`` for ``size``."""
        ...

    def signing_key(self) -> str | None:
        """The ``signing_key`` stored in ``log_meta`` (a verifier key string), if any."""
        ...

    def set_signing_key(self, vkey: str) -> None:
        """Store ``vkey`` as the ``signing_key`` (replacing any)."""
        ...


class Backend(Protocol):
    """A storage engine for one log (see the module docstring for the tables)."""

    @property
    def origin(self) -> str:
        """The log name stored at creation."""
        ...

    @property
    def location(self) -> str:
        """Where the log lives, for messages (a path, or a DSN with any password removed)."""
        ...

    def write(self) -> AbstractContextManager[WriteTransaction]:
        """Begin a write transaction holding the cross-process write lock; commit durably on exit."""
        ...

    def count(self) -> int:
        """Number of rows in ``log_entries``."""
        ...

    def leaf_hashes(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(idx, leaf_hash)`` for ``idx >= start``, in index order (gaps are the caller's to find)."""
        ...

    def rows(self, start: int, end: int | None = None, *, evidence: bool = False) -> Iterator[EntryRow]:
        """Entries with ``start <= idx < end`` in index order, with their evidence when asked."""
        ...

    def evidence(self, index: int) -> Evidence | None:
        """The evidence stored beside entry ``index``, if any."""
        ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """``(size, note)`` of the largest stored checkpoint, or ``None`` when there is none."""
        ...

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        """Every stored ``(size, note)`` in increasing size."""
        ...

    def close(self) -> None: ...


def check_meta(meta: dict[str, str], origin: str | None, location: str) -> str:
    """The stored origin, after checking the storage ``schema`` and that ``origin`` (when given)
    is the stored one; anything else is ``log.store_unavailable``."""
    if meta.get("schema") != STORAGE_SCHEMA:
        raise ServiceUnavailableError(
            "log.store_unavailable", f"storage schema {meta.get('schema')!r}, want {STORAGE_SCHEMA!r}"
        )
    stored = str(meta.get("origin", ""))
    if origin is not None and stored != origin:
        raise ServiceUnavailableError(
            "log.store_unavailable", f"{location} holds the log {stored!r}, not {origin!r}"
        )
    return stored
