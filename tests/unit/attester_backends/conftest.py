"""A simulated guest (roots shared per test run) and a fake configfs-tsm tree per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.evidence.snp import Product
from tests.unit.attester.simulated_pki import authority
from tests.unit.attester_backends.fake_configfs import FakeTsmKernel


@pytest.fixture(scope="session")
def guest() -> SimulatedSnpAttester:
    return SimulatedSnpAttester(authority(Product.GENOA), enable_simulation=True)


@pytest.fixture
def kernel(tmp_path: Path, guest: SimulatedSnpAttester) -> FakeTsmKernel:
    return FakeTsmKernel(tmp_path / "tsm" / "report", guest)
