"""One simulated worker per test session for the log tests (its simulated AMD root is slow to make)."""

from __future__ import annotations

import pytest

from tests.unit.client.simulated_worker import SimulatedWorkerKeys


@pytest.fixture(scope="session")
def worker() -> SimulatedWorkerKeys:
    return SimulatedWorkerKeys()
