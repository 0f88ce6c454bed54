"""Replay protection at the gateway: a repeated enc is refused within the window; memory is bounded."""

from __future__ import annotations

import pytest

from attestgw.errors import DecryptionError
from attestgw.ohttp import ChunkedClientRequest, ClientRequest, ReplayWindow, Server, ServerKey
from tests.unit.channel.conftest import FakeClock


def test_a_replayed_request_is_refused(server: Server, server_key: ServerKey) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"transfer 100")
    server.open_request(sealed)
    with pytest.raises(DecryptionError) as err:
        server.open_request(sealed)
    assert err.value.code == "ohttp.replay"


def test_a_replayed_chunked_request_is_refused(server: Server, server_key: ServerKey) -> None:
    request = ChunkedClientRequest(server_key.config)
    body = request.seal_chunk(b"a") + request.seal_final(b"b")[0]
    server.open_chunked_request(body)
    with pytest.raises(DecryptionError) as err:
        server.open_chunked_request(body)
    assert err.value.code == "ohttp.replay"


def test_requests_that_fail_to_decrypt_do_not_enter_the_window(server: Server, server_key: ServerKey) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"hello")
    forged = sealed[:-1] + bytes([sealed[-1] ^ 0x80])
    for _ in range(3):
        with pytest.raises(DecryptionError) as err:
            server.open_request(forged)
        assert err.value.code == "ohttp.decrypt_failed"
    assert len(server.replay_window) == 0
    assert server.open_request(sealed)[0] == b"hello"  # the genuine request still goes through


def test_entries_expire_after_max_age(server: Server, server_key: ServerKey, clock: FakeClock) -> None:
    sealed, _ = ClientRequest(server_key.config).seal(b"x")
    server.open_request(sealed)
    clock.now += 59
    with pytest.raises(DecryptionError):
        server.open_request(sealed)
    clock.now += 2  # now 61 s after acceptance: outside the 60 s window
    accepted_at = clock.now - 61
    window = server.replay_window
    assert window.horizon() == clock.now - 60 > accepted_at  # the caller is told it is not covered
    server.open_request(sealed)  # no longer remembered: the inner Date check must catch this
    assert len(window) == 1  # the expired entry was dropped, the new acceptance recorded


def test_memory_is_bounded_and_the_horizon_moves_when_evicting(clock: FakeClock) -> None:
    window = ReplayWindow(max_entries=3, max_age_s=3600, clock=clock)
    for i in range(3):
        clock.now += 1
        assert window.admit(b"enc-%d" % i)
    assert window.horizon() == clock.now - 3600
    evicted_at = clock.now - 2  # acceptance time of enc-0
    clock.now += 1
    assert window.admit(b"enc-3")
    assert len(window) == 3
    assert window.horizon() == evicted_at  # enc-0 was dropped early: only later ones are covered
    assert window.admit(b"enc-0")  # the evicted one is not detected, as documented
    assert not window.admit(b"enc-3")


def test_window_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ReplayWindow(max_entries=0)
    with pytest.raises(ValueError, match="max_age_s"):
        ReplayWindow(max_age_s=0)
