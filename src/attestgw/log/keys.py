"""The log's keys as the store and the CLI see them: a signer protocol and key-file loaders.

A log key is anything that can sign a checkpoint text as one signed-note signature line:
:class:`~attestgw.log.signing.NoteSigner` (an Ed25519 seed in a file) and
:class:`~attestgw.log.pkcs11.Pkcs11Signer` (the key stays on a PKCS#11 token) are.
:func:`open_signer` picks one from a setting: a ``pkcs11:`` URI, else a key file path.

Key files are the signed-note key strings of docs/log-format.md §6: the public file holds one
verifier key ``<name>+<hex8>+<base64>`` (what ``audit verify --log-key`` takes); the private file
holds ``PRIVATE+KEY+…`` and is written with mode 0600. Not checked here: who may read the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from attestgw.errors import FormatError, ServiceUnavailableError, UsageError
from attestgw.log.signing import NoteSigner, NoteVerifier
from attestgw.merkle.note import NoteSignature

__all__ = ["CheckpointSigner", "load_signer", "load_verifiers", "open_signer", "write_key_pair"]


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


def open_signer(spec: str | Path, *, origin: str) -> CheckpointSigner:
    """The log key named by ``spec``: a ``pkcs11:`` URI (the token signs, as key name ``origin``;
    ``python-pkcs11`` is imported only then) or the path of a ``PRIVATE+KEY+…`` file. The store
    refuses a key whose name is not its origin."""
    if isinstance(spec, str) and spec.startswith("pkcs11:"):
        try:
            from attestgw.log.pkcs11 import Pkcs11Signer  # noqa: PLC0415  # optional dependency
        except ImportError:
            raise ServiceUnavailableError(
                "log.signer_unavailable", "a PKCS#11 log key needs python-pkcs11: install attestgw[gateway]"
            ) from None
        return Pkcs11Signer.open(spec, origin)
    return load_signer(Path(spec))


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
