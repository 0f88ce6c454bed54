"""Fixtures shared by the integration tests that talk to loopback services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.fake_pcs import FakePcs, running_fake_pcs


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx clients (the SDK's, the CLI's fetchers) honour proxy settings from the environment;
    # tests talk only to loopback, and that traffic must not go to a proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pcs() -> Iterator[FakePcs]:
    """Intel PCS played by a loopback server for the length of one test."""
    with running_fake_pcs() as state:
        yield state
