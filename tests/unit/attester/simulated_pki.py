"""Simulated AMD authorities shared by the attester tests and the SEV-SNP negative tables.

RSA-4096 generation is the slow part, so each authority is built once per test process (the
session-scoped fixtures in the test packages all come here) and its keys are generated lazily.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from attestgw.attester.simulated_snp import SimulatedAmdAuthority
from attestgw.evidence.snp import Product

#: When the simulated VCEKs/VLEKs are issued, and a time inside every certificate's validity.
ISSUED_AT = datetime(2026, 1, 1, tzinfo=UTC)
VERIFY_AT = datetime(2026, 3, 1, tzinfo=UTC)


@cache
def authority(product: Product, label: str = "primary") -> SimulatedAmdAuthority:
    """The simulated authority named ``label`` for ``product`` (distinct labels, distinct keys)."""
    return SimulatedAmdAuthority(product, enable_simulation=True)
