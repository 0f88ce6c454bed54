"""The authenticator remembers verified signatures, never verified claims: a repeated token skips the
signature check, yet expiry is checked at every use and a rotated-out key ends the memory at once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from attestgw.errors import AuthenticationError
from attestgw.identity import OidcAuthenticator
from attestgw.identity.jwk import VerificationKey
from tests.unit.identity.issuer import FakeIssuer, config


def _count_verifies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = VerificationKey.verify

    def counting(self: VerificationKey, *args: object) -> bool:
        calls[0] += 1
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(VerificationKey, "verify", counting)
    return calls


def test_a_repeated_token_is_verified_once_but_its_claims_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeIssuer()
    calls = _count_verifies(monkeypatch)
    now = [datetime.now(UTC)]
    token = fake.token(exp=int(time.time()) + 120)

    async def main() -> None:
        async with httpx.AsyncClient(transport=fake.transport) as client:
            auth = OidcAuthenticator([config()], client, clock=lambda: now[0])
            for _ in range(5):
                await auth.authenticate(f"Bearer {token}")
            assert calls[0] == 1  # one signature check for five uses
            now[0] += timedelta(seconds=400)  # past exp (and the leeway): the claims are checked again
            with pytest.raises(AuthenticationError) as err:
                await auth.authenticate(f"Bearer {token}")
            assert err.value.code == "auth.token_expired"

    asyncio.run(main())


def test_memory_off_verifies_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeIssuer()
    calls = _count_verifies(monkeypatch)
    token = fake.token()

    async def main() -> None:
        async with httpx.AsyncClient(transport=fake.transport) as client:
            auth = OidcAuthenticator([config()], client, verified_ttl_s=0)
            for _ in range(3):
                await auth.authenticate(f"Bearer {token}")

    asyncio.run(main())
    assert calls[0] == 3
