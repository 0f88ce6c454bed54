"""The throwaway PostgreSQL server of tests/unit/log/pgcluster.py, for the multi-process tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.log.pgcluster import PostgresCluster, cluster_fixture


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    yield from cluster_fixture()
