"""Option parsing shared by the verify commands: files, times, expected REPORT_DATA.

Every failure is a :class:`~attestgw.errors.UsageError` (exit 2) with a stable code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from attestgw.clock import parse_instant, utcnow
from attestgw.errors import UsageError

__all__ = ["parse_at", "parse_report_data", "read_input"]


def read_input(path: Path, what: str) -> bytes:
    """The bytes of ``path``, or ``input.unreadable`` naming what could not be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError("input.unreadable", f"cannot read {what} {path}: {exc.strerror}") from None


def parse_at(text: str | None) -> datetime:
    """``--at``: an ISO-8601 instant (UTC when no offset is given); now when absent."""
    if text is None:
        return utcnow()
    try:
        return parse_instant(text)
    except ValueError:
        raise UsageError("usage.invalid", f"--at {text!r} is not an ISO-8601 time") from None


def parse_report_data(text: str | None) -> bytes | None:
    """``--report-data``: hex of at most 64 bytes, zero-padded to 64 (as firmware pads REPORT_DATA)."""
    if text is None:
        return None
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise UsageError("usage.invalid", "--report-data must be hex") from None
    if len(value) > 64:
        raise UsageError("usage.invalid", f"--report-data is {len(value)} bytes, at most 64")
    return value.ljust(64, b"\x00")
