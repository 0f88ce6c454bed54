"""The log's keys as the store and the CLI see them: a signer protocol and key-file loaders.

A log key is anything that can sign a checkpoint text as one signed-note signature line:
:class:`~attestgw.log.signing.NoteSigner` (an Ed25519 seed in a file) is; a PKCS#11-backed signer
(private key on a token, not written yet) will implement the same protocol.

Key files are the signed-note key strings of docs/log-format.md §6: the public file holds one
verifier key ``<name>+<hex8>+<base64>`` (what ``audit verify --log-key`` takes); the private file
holds ``PRIVATE+KEY+…`` and is written with mode 0600. Not checked here: who may read the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from attestgw.errors import FormatError, UsageError
from attestgw.log.signing import NoteSigner, NoteVerifier
from attestgw.merkle.note import NoteSignature

__all__ = ["CheckpointSigner", "load_signer", "load_verifiers", "write_key_pair"]


class CheckpointSigner(Protocol):
    """Signs note texts under one signed-note key name and key id."""

    @property
    def name(self) -> str: ...

    @property
    def verifier(self) -> NoteVerifier: ...

    def sign(self, text: str) -> NoteSignature: ...


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("input.unreadable", f"cannot read {what} {path}: {exc}") from None


def load_signer(path: Path) -> NoteSigner:
    """A file signer from ``PRIVATE+KEY+…`` text (``log.key_invalid`` when malformed)."""
    return NoteSigner.from_signer_key(_read(path, "log signing key").strip())


def load_verifiers(path: Path) -> tuple[NoteVerifier, ...]:
    """Every verifier key in ``path``, one per non-empty line (a rotation publishes two)."""
    lines = [line.strip() for line in _read(path, "log public key").splitlines() if line.strip()]
    if not lines:
        raise FormatError("log.key_invalid", f"{path} holds no verifier key")
    return tuple(NoteVerifier.from_vkey(line) for line in lines)


def write_key_pair(signer: NoteSigner, private_path: Path, public_path: Path) -> None:
    """Write ``signer``'s private key (mode 0600, refusing to overwrite) and its verifier key."""
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(signer.signer_key + "\n")
    public_path.write_text(signer.verifier.vkey + "\n", encoding="ascii")
