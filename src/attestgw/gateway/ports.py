"""What the gateway needs from its services, as protocols; ``create_app(settings, services)`` takes them.

The concrete services live below the edge: :mod:`attestgw.identity` (authenticator),
:mod:`attestgw.access` (authorizer, quotas), :mod:`attestgw.log` (the durable recorder). Tests and the
embedded default wire real ones; nothing here imports FastAPI.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from attestgw.access import Action, Decision
from attestgw.identity import Principal

__all__ = ["Authenticator", "Authorizer", "Quotas", "Recorder"]


class Authenticator(Protocol):
    """Turns the ``Authorization`` header value (``None`` when absent) into a verified principal.

    Raises :class:`~attestgw.errors.AuthenticationError` (``auth.*``). Never blocks the event loop:
    JWKS and discovery fetches are awaited.
    """

    async def authenticate(self, authorization: str | None) -> Principal: ...


class Authorizer(Protocol):
    """Decides principal × action × resource; returns the decision (allowed or not), never raises for
    a denial. ``resource`` is a model id, or ``"log"`` / ``"gateway"`` for the non-model actions.
    """

    def authorize(self, principal: Principal, action: Action, resource: str) -> Decision: ...


class Quotas(Protocol):
    """Per-principal and per-tenant limits. Both raise :class:`~attestgw.errors.RateLimitedError`."""

    def check_rate(self, principal: Principal) -> None:
        """Count one request against the principal's and its tenant's rate; refuse when over."""
        ...

    def stream(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        """Hold one concurrent-stream slot (principal and tenant) for the ``async with`` body."""
        ...


class Recorder(Protocol):
    """Where the gateway's decisions go (admissions, evictions, relays, denials).

    ``kind`` is a record type of docs/log-format.md (e.g. ``"worker.admitted"``); ``fields`` hold
    digests and ids only — never prompts, plaintext, tokens or keys. The evidence-log store implements
    it durably; :meth:`record` returns the entry index, or ``None`` where nothing durable is kept.
    """

    def record(self, kind: str, fields: Mapping[str, object]) -> int | None: ...
