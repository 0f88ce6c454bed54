"""The on-disk collateral cache shared by the vendor fetchers (AMD KDS, Intel PCS).

Reads are bounded; writes go through a temporary file, fsync and ``os.replace`` so a reader sees the
old entry or the new one, never a torn file. Failures are ``collateral.unavailable``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from attestgw.errors import CollateralUnavailableError

__all__ = ["MAX_ENTRY_BYTES", "read_cached", "write_atomic"]

#: Larger than any certificate chain, CRL or collateral document a vendor serves.
MAX_ENTRY_BYTES = 4 * 1024 * 1024


def read_cached(path: Path) -> tuple[bytes, float] | None:
    """The cached bytes and their modification time, or None when absent."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_ENTRY_BYTES + 1), os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CollateralUnavailableError(
            "collateral.unavailable", f"cannot read cache {path}: {exc}"
        ) from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (readers see old or new)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CollateralUnavailableError(
            "collateral.unavailable", f"cannot write cache {path}: {exc}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CollateralUnavailableError(
            "collateral.unavailable", f"cannot write cache {path}: {exc}"
        ) from None
