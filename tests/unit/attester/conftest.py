"""Session-scoped simulated authorities (keys generated once per run, see ``simulated_pki``)."""

from __future__ import annotations

import pytest

from attestgw.attester.simulated_snp import SimulatedAmdAuthority
from attestgw.evidence.snp import Product
from tests.unit.attester.simulated_pki import authority


@pytest.fixture(scope="session")
def milan() -> SimulatedAmdAuthority:
    return authority(Product.MILAN)


@pytest.fixture(scope="session")
def genoa() -> SimulatedAmdAuthority:
    return authority(Product.GENOA)


@pytest.fixture(scope="session")
def turin() -> SimulatedAmdAuthority:
    return authority(Product.TURIN)


@pytest.fixture(scope="session")
def authorities(
    milan: SimulatedAmdAuthority, genoa: SimulatedAmdAuthority, turin: SimulatedAmdAuthority
) -> dict[Product, SimulatedAmdAuthority]:
    return {Product.MILAN: milan, Product.GENOA: genoa, Product.TURIN: turin}
