"""One simulated worker per test session (its simulated AMD root is slow to generate)."""

from __future__ import annotations

import pytest

from tests.unit.client.simulated_worker import SimulatedWorkerKeys


@pytest.fixture(scope="session")
def worker() -> SimulatedWorkerKeys:
    return SimulatedWorkerKeys()
