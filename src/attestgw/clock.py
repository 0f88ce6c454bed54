"""Time as a value. Decision code never reads the wall clock: callers pass ``at`` in.

Only edges (CLI, services) call :func:`utcnow`; everything below takes a timezone-aware
:class:`~datetime.datetime`.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_instant", "require_aware", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC. For edges only."""
    return datetime.now(UTC)


def require_aware(at: datetime) -> datetime:
    """Return ``at`` in UTC; refuse naive datetimes, which are ambiguous."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required (naive times are ambiguous)")
    return at.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant. A date alone means midnight UTC; no offset means UTC.

    Raises :class:`ValueError` for text that is not ISO-8601.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
