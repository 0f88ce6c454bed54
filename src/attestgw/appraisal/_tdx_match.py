"""Allow-list membership for TDX appraisal rules (public values, compared without early exit)."""

from __future__ import annotations

import hmac

__all__ = ["member", "one_of"]


def member(value: bytes, allowed: tuple[bytes, ...]) -> bool:
    """Whether ``value`` is in ``allowed``; every candidate is compared (no timing hint)."""
    found = False
    for candidate in allowed:
        found |= hmac.compare_digest(value, candidate)
    return found


def one_of(allowed: tuple[bytes, ...]) -> str:
    """The "want" text of a failed allow-list rule."""
    return "one of [" + ", ".join(v.hex() for v in allowed) + "]"
