"""Fixtures for the sealed-channel tests: gateway keys are generated per test, as in the TEE."""

from __future__ import annotations

import pytest

from attestgw.crypto.hpke import KEM_XWING, xwing_available
from attestgw.ohttp import ReplayWindow, Server, ServerKey


class FakeClock:
    """A settable clock for the replay window."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server_key() -> ServerKey:
    return ServerKey.generate(1)


@pytest.fixture
def server(server_key: ServerKey, clock: FakeClock) -> Server:
    return Server([server_key], replay_window=ReplayWindow(max_entries=64, max_age_s=60, clock=clock))


@pytest.fixture
def xwing_key() -> ServerKey:
    if not xwing_available():
        pytest.skip("the installed cryptography backend has no ML-KEM-768")
    return ServerKey.generate(7, kem_id=KEM_XWING)
