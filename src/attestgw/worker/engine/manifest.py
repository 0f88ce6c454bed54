"""The model manifest and its digest: which exact files the worker serves.

The manifest lists every regular file under the model directory as ``(path, size, sha256)``:

- ``path``: relative to the directory, ``/``-separated, compared as UTF-8 bytes for sorting;
- ``size``: bytes; ``sha256``: lowercase hex of the file's content.

Its canonical form is JSON ``{"files": [{"path", "sha256", "size"}, …], "v": 1}`` with keys sorted,
separators ``,`` and ``:``, ASCII only (the same canonical JSON as receipts), and the **model digest**
is the lowercase hex SHA-256 of those bytes. The worker publishes the digest in its attestation bundle
and every receipt names it, so a client can tell which weights, tokenizer and config answered.

Every file counts, including README or licence files: adding or editing any file changes the digest.
Symbolic links to files are followed (Hugging Face cache snapshots are made of them) and recorded
under the link's own path. Not checked: that the files form a loadable model (the engine does that),
and anything outside the directory. A symbolic link to a directory, or anything that is neither a
file nor a directory, is refused (``config.model_invalid``) rather than silently skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from attestgw.errors import ConfigError

__all__ = ["ManifestEntry", "manifest_bytes", "model_digest", "model_manifest"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a model directory."""

    path: str
    size: int
    sha256: str


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def model_manifest(directory: Path) -> tuple[ManifestEntry, ...]:
    """Every regular file under ``directory``, sorted by path (see the module docstring)."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError("config.model_invalid", f"model directory {str(root)!r} does not exist")
    entries: list[ManifestEntry] = []
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(current)
        for name in dirnames:
            if (base / name).is_symlink():
                raise ConfigError(
                    "config.model_invalid",
                    f"{(base / name).relative_to(root).as_posix()!r} is a link to a directory",
                )
        for name in filenames:
            path = base / name
            relative = path.relative_to(root).as_posix()
            try:
                mode = path.stat().st_mode  # follows links: a link to a file counts as that file
            except OSError as exc:
                raise ConfigError("config.model_invalid", f"{relative!r} cannot be read: {exc}") from exc
            if not stat.S_ISREG(mode):
                raise ConfigError("config.model_invalid", f"{relative!r} is not a regular file")
            size, sha = _hash_file(path)
            entries.append(ManifestEntry(relative, size, sha))
    entries.sort(key=lambda entry: entry.path.encode("utf-8"))
    return tuple(entries)


def manifest_bytes(entries: tuple[ManifestEntry, ...]) -> bytes:
    """The canonical JSON of a manifest (the bytes the model digest is taken over)."""
    document = {
        "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in entries],
        "v": 1,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def model_digest(directory: Path) -> str:
    """Lowercase hex SHA-256 over the canonical manifest of ``directory``."""
    return hashlib.sha256(manifest_bytes(model_manifest(directory))).hexdigest()
