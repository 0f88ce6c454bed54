"""Simulated Intel authorities and TDX attesters shared by the attester tests and the TDX negative
tables: built once per test process, at fixed times so results do not depend on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from attestgw.attester.simulated_tdx import SimulatedIntelAuthority, SimulatedTdxAttester

#: PCK issue time, collateral issue time, and a time inside every validity window.
ISSUED_AT = datetime(2026, 1, 1, tzinfo=UTC)
COLLATERAL_AT = datetime(2026, 1, 10, tzinfo=UTC)
VERIFY_AT = datetime(2026, 1, 15, tzinfo=UTC)


def authority(label: str = "primary") -> SimulatedIntelAuthority:
    """The simulated Intel authority named ``label`` (distinct labels, distinct roots)."""
    return _authority(label)


def attester(label: str = "primary") -> SimulatedTdxAttester:
    """A simulated TD on a platform certified by ``authority(label)``."""
    return _attester(label)


# functools.cache keys on the arguments as passed: normalise the default first.
@cache
def _authority(label: str) -> SimulatedIntelAuthority:
    return SimulatedIntelAuthority(enable_simulation=True)


@cache
def _attester(label: str) -> SimulatedTdxAttester:
    return SimulatedTdxAttester(
        _authority(label), issued_at=ISSUED_AT, collateral_at=COLLATERAL_AT, enable_simulation=True
    )
