"""The signed evidence log (layer L4): records, storage, batching, signed checkpoints and proofs.

- :mod:`~attestgw.log.canonical` — RFC 8785 canonical JSON; :mod:`~attestgw.log.records` and
  :mod:`~attestgw.log.schema` — versioned, allow-listed records;
- :mod:`~attestgw.log.store` — :class:`LogStore`: durable batched appends, checkpoints, proofs, key
  rotation, over a :class:`Backend`: :mod:`~attestgw.log.sqlite` (default) or
  :mod:`~attestgw.log.postgres` (imported on demand), chosen by :func:`open_backend`;
- :mod:`~attestgw.log.recorder` — the gateway's ``Recorder``;
- :mod:`~attestgw.log.signing` — signing and verifying notes and checkpoints;
  :mod:`~attestgw.log.keys` — the signer protocol, key files, :func:`open_signer`;
  :mod:`~attestgw.log.pkcs11` — the log key on a PKCS#11 token (imported on demand).

The Merkle tree, proofs and text formats are in :mod:`attestgw.merkle` (layer L1). Formats:
docs/log-format.md (tree, notes) and docs/evidence-log.md (records, storage, audit).
"""

from __future__ import annotations

from attestgw.log.backend import Backend, EntryRow
from attestgw.log.canonical import canonicalize, parse_canonical
from attestgw.log.database import open_backend
from attestgw.log.keys import CheckpointSigner, load_signer, load_verifiers, open_signer, write_key_pair
from attestgw.log.recorder import LogRecorder, attestation_fields
from attestgw.log.records import (
    MAX_RECORD_BYTES,
    Evidence,
    Record,
    build_record,
    format_time,
    parse_record,
    parse_time,
)
from attestgw.log.schema import RECORD_TYPES, RECORD_VERSION
from attestgw.log.signing import (
    NoteSigner,
    NoteVerifier,
    VerifiedCheckpoint,
    VerifiedNote,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from attestgw.log.sqlite import SqliteBackend
from attestgw.log.store import BatchSettings, LogStore

__all__ = [
    "MAX_RECORD_BYTES",
    "RECORD_TYPES",
    "RECORD_VERSION",
    "Backend",
    "BatchSettings",
    "CheckpointSigner",
    "EntryRow",
    "Evidence",
    "LogRecorder",
    "LogStore",
    "NoteSigner",
    "NoteVerifier",
    "Record",
    "SqliteBackend",
    "VerifiedCheckpoint",
    "VerifiedNote",
    "attestation_fields",
    "build_record",
    "canonicalize",
    "format_time",
    "load_signer",
    "load_verifiers",
    "open_backend",
    "open_signer",
    "parse_canonical",
    "parse_record",
    "parse_time",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_note",
    "write_key_pair",
]
