"""Check that the attestation a client relied on is in the gateway's evidence log (issue 5, client side).

With a pinned log key (:class:`LogMonitor`), after its own appraisal affirmed a bundle, the client:

1. reads the proof the gateway attached to the attestation answer (:func:`parse_log_headers`:
   ``Attestgw-Log-Index``, ``-Entry``, ``-Checkpoint``, ``-Inclusion``; none at all is
   ``log.proof_missing``, a malformed one ``log.response_malformed``);
2. verifies the checkpoint's signature with the pinned key(s) — the log's origin is the key name
   (``log.signature_invalid``, ``log.unknown_key``, ``log.origin_mismatch``);
3. requires the entry to be the record of *this* answer: an ``attestation.appraised`` record whose
   ``evidence_digest`` is SHA-256 of the bundle bytes received and ``nonce_digest`` SHA-256 of the
   client's nonce (``log.entry_mismatch``);
4. verifies the RFC 9162 inclusion proof of ``leaf_hash(entry)`` at the index against the
   checkpoint's root (``log.proof_invalid`` / ``log.proof_malformed``);
5. compares the checkpoint with the last one it kept for the origin: equal sizes need equal roots;
   otherwise an RFC 9162 consistency proof between the two sizes (fetched from
   ``/v1/log/proof/consistency`` by the caller) must hold. Anything else is a split view,
   ``log.split_view``. The larger checkpoint is kept (in memory; with ``state_file`` also on disk).

Sans-I/O: :meth:`LogMonitor.begin` does steps 1-4 and says which consistency proof step 5 needs;
:meth:`PendingLogCheck.finish` takes it. Not checked: the gateway's own verdict in the record (the
client decided itself; ``recorded_status`` reports it), that the checkpoint is fresh, witnesses, or
consistency between concurrent attestations that began from the same kept checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from attestgw.errors import AttestgwError, FormatError, VerificationError
from attestgw.log import NoteVerifier, load_verifiers, parse_record, verify_checkpoint
from attestgw.merkle import Checkpoint, leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "LOG_CHECKPOINT_HEADER",
    "LOG_ENTRY_HEADER",
    "LOG_INCLUSION_HEADER",
    "LOG_INDEX_HEADER",
    "LogInclusion",
    "LogMonitor",
    "PendingLogCheck",
    "UnverifiedLogProof",
    "parse_log_headers",
]

LOG_INDEX_HEADER = "attestgw-log-index"
LOG_ENTRY_HEADER = "attestgw-log-entry"
LOG_CHECKPOINT_HEADER = "attestgw-log-checkpoint"
LOG_INCLUSION_HEADER = "attestgw-log-inclusion"
_HEADERS = (LOG_INDEX_HEADER, LOG_ENTRY_HEADER, LOG_CHECKPOINT_HEADER, LOG_INCLUSION_HEADER)
_MAX_PROOF = 64


def _bad(message: str) -> FormatError:
    return FormatError("log.response_malformed", message)


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class UnverifiedLogProof:
    """What the gateway claims about an attestation answer; nothing here is checked yet."""

    index: int
    entry: bytes = field(repr=False)
    checkpoint: bytes = field(repr=False)
    inclusion: tuple[bytes, ...] = field(repr=False)


def parse_log_headers(headers: Mapping[str, str]) -> UnverifiedLogProof:
    """Step 1: the four log headers (case-insensitive names, as httpx gives them)."""
    values = {name: headers.get(name) for name in _HEADERS}
    if all(v is None for v in values.values()):
        raise FormatError("log.proof_missing", "the attestation answer carries no log proof")
    missing = [name for name, v in values.items() if v is None]
    if missing:
        raise _bad(f"the attestation answer lacks {', '.join(missing)}")
    index_text = str(values[LOG_INDEX_HEADER]).strip()
    if not index_text.isascii() or not index_text.isdigit() or len(index_text) > 19:
        raise _bad(f"{LOG_INDEX_HEADER} is not a decimal index")
    parts = [p for p in str(values[LOG_INCLUSION_HEADER]).split(",") if p.strip()]
    if len(parts) > _MAX_PROOF:
        raise _bad(f"{LOG_INCLUSION_HEADER} holds more than {_MAX_PROOF} hashes")
    return UnverifiedLogProof(
        index=int(index_text),
        entry=_b64(str(values[LOG_ENTRY_HEADER]), LOG_ENTRY_HEADER),
        checkpoint=_b64(str(values[LOG_CHECKPOINT_HEADER]), LOG_CHECKPOINT_HEADER),
        inclusion=tuple(_b64(p, LOG_INCLUSION_HEADER) for p in parts),
    )


@dataclass(frozen=True, slots=True)
class LogInclusion:
    """Verified: the attestation's record is entry ``index`` of the signed checkpoint ``checkpoint``
    (``size``, ``root_hash``), consistent with the checkpoint kept before (``consistent_with``: its
    size, ``None`` when none was kept)."""

    origin: str
    index: int
    size: int
    root_hash: bytes
    leaf_hash: bytes
    checkpoint: bytes = field(repr=False)
    recorded_status: str = "none"
    consistent_with: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "checked": True,
            "origin": self.origin,
            "index": self.index,
            "size": self.size,
            "root": self.root_hash.hex(),
            "leaf_hash": self.leaf_hash.hex(),
            "recorded_status": self.recorded_status,
            "consistent_with": self.consistent_with,
        }


@dataclass(frozen=True, slots=True)
class PendingLogCheck:
    """Steps 1-4 held; :meth:`finish` does step 5 with the consistency proof for :attr:`pair`."""

    monitor: LogMonitor
    inclusion: LogInclusion
    checkpoint: Checkpoint
    against: Checkpoint | None
    #: ``(old, new)`` sizes of the consistency proof to fetch, or ``None`` when none is needed
    pair: tuple[int, int] | None

    def finish(self, proof: Sequence[bytes] = ()) -> LogInclusion:
        return self.monitor._accept(self, proof)


class LogMonitor:
    """A pinned log key and the last checkpoint seen per origin (module docstring).

    ``verifiers``: the log's public key(s), one key name (the origin; a rotation publishes two keys of
    one name). ``state_file``: a JSON file of ``{origin: note}`` read at start (each note verified)
    and rewritten atomically when a newer checkpoint is kept. Thread-safe.
    """

    def __init__(self, verifiers: Sequence[NoteVerifier], *, state_file: Path | None = None) -> None:
        names = {v.name for v in verifiers}
        if len(names) != 1:
            raise FormatError("log.key_invalid", f"want the key(s) of one log, got names {sorted(names)}")
        self.verifiers = tuple(verifiers)
        self.origin = names.pop()
        self._state_file = state_file
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[Checkpoint, bytes]] = {}
        if state_file is not None and state_file.exists():
            self._load(state_file)

    @classmethod
    def from_key(cls, key: str | Path, *, state_file: Path | None = None) -> LogMonitor:
        """From a verifier key string ``<name>+<hex8>+<base64>`` or the path of a key file."""
        if isinstance(key, str) and not Path(key).is_file():  # (base64 may hold "+" and "/")
            return cls([NoteVerifier.from_vkey(key)], state_file=state_file)
        return cls(load_verifiers(Path(key)), state_file=state_file)

    def __repr__(self) -> str:
        return f"LogMonitor({self.origin!r}, keys={[f'{v.key_id:08x}' for v in self.verifiers]})"

    def kept(self, origin: str | None = None) -> Checkpoint | None:
        """The checkpoint kept for ``origin`` (default: this log's), if any."""
        with self._lock:
            entry = self._kept.get(origin or self.origin)
        return entry[0] if entry is not None else None

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FormatError("input.unreadable", f"cannot read the log state {path}: {exc}") from None
        note = state.get(self.origin) if isinstance(state, dict) else None
        if isinstance(note, str):
            data = note.encode("utf-8")
            self._kept[self.origin] = (
                verify_checkpoint(data, self.verifiers, origin=self.origin).checkpoint,
                data,
            )

    def _save(self) -> None:
        path = self._state_file
        if path is None:
            return
        state: dict[str, Any] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                state = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                state = {}
        state.update({origin: note.decode("utf-8") for origin, (_, note) in self._kept.items()})
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    def begin(self, proof: UnverifiedLogProof, bundle: bytes, nonce: bytes) -> PendingLogCheck:
        """Steps 2-4 for the answer ``bundle`` to ``nonce``; step 5's proof sizes in ``pair``."""
        # 2. The checkpoint is the log's: signed by a pinned key, naming the key's origin.
        checkpoint = verify_checkpoint(proof.checkpoint, self.verifiers, origin=self.origin).checkpoint
        # 3. The entry is the record of these bundle bytes and this nonce.
        try:
            record = parse_record(proof.entry)
        except AttestgwError as err:
            raise VerificationError(
                "log.entry_mismatch", f"the logged entry is no record: {err.code}"
            ) from None
        if record.type != "attestation.appraised":
            raise VerificationError("log.entry_mismatch", f"the logged entry is a {record.type} record")
        for name, value in (("evidence_digest", bundle), ("nonce_digest", nonce)):
            want = hashlib.sha256(value).hexdigest()
            if not hmac.compare_digest(str(record.get(name, "")), want):
                raise VerificationError(
                    "log.entry_mismatch", f"the logged {name} is {record.get(name)}, want {want}"
                )
        # 4. The entry is in the signed tree.
        leaf = leaf_hash(proof.entry)
        verify_inclusion(leaf, proof.index, checkpoint.size, proof.inclusion, checkpoint.root_hash)
        inclusion = LogInclusion(
            origin=checkpoint.origin,
            index=proof.index,
            size=checkpoint.size,
            root_hash=checkpoint.root_hash,
            leaf_hash=leaf,
            checkpoint=proof.checkpoint,
            recorded_status=str(record.get("status", "none")),
        )
        # 5. (which proof) Two different sizes, both non-empty: a consistency proof between them.
        against = self.kept(checkpoint.origin)
        pair = None
        if against is not None and against.size and against.size != checkpoint.size:
            pair = (min(against.size, checkpoint.size), max(against.size, checkpoint.size))
        return PendingLogCheck(self, inclusion, checkpoint, against, pair)

    def _accept(self, pending: PendingLogCheck, proof: Sequence[bytes]) -> LogInclusion:
        # 5. The checkpoint extends (or is extended by) the one kept; else the log shows two views.
        new, old = pending.checkpoint, pending.against
        if old is not None and old.size:
            first, second = (old, new) if old.size <= new.size else (new, old)
            try:
                verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash)
            except AttestgwError as err:
                raise VerificationError(
                    "log.split_view",
                    f"checkpoint {new.size} of {new.origin} is not consistent with checkpoint {old.size} "
                    f"seen before ({err.code})",
                ) from None
        with self._lock:
            current = self._kept.get(new.origin)
            if current is None or current[0].size < new.size:
                self._kept[new.origin] = (new, pending.inclusion.checkpoint)
                self._save()
        return replace(pending.inclusion, consistent_with=old.size if old is not None else None)
