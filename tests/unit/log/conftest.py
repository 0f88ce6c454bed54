"""Session fixtures for the log tests: one simulated worker (its simulated AMD root is slow to make),
one throwaway PostgreSQL server, and ``new_log``: a factory of fresh log locations, run once on
SQLite and once on PostgreSQL by the tests that take it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.unit.client.simulated_worker import SimulatedWorkerKeys
from tests.unit.log.pgcluster import PostgresCluster, cluster_fixture


@pytest.fixture(scope="session")
def worker() -> SimulatedWorkerKeys:
    return SimulatedWorkerKeys()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    yield from cluster_fixture()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def new_log(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str | Path]:
    """A callable returning a location (SQLite path or PostgreSQL URL) where no log exists yet."""
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.new_database
    root = tmp_path_factory.mktemp("logs")
    names = itertools.count()
    return lambda: root / f"log{next(names)}.db"
