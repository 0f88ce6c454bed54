"""Small local implementations of the gateway's ports, for its tests (the real ones live in
attestgw.identity / access / log and are wired by the lead).

* :class:`StaticTokens` — bearer tokens mapped to principals; tokens are kept as SHA-256 digests
  and compared in constant time;
* :class:`AllowList` — ``(subject, action, resource)`` triples (``"*"`` for any resource);
* :class:`CountingQuotas` — a fixed number of requests per principal, and of concurrent streams;
* :class:`MemoryRecorder` — the records, in order.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from attestgw.access import Action, Decision
from attestgw.errors import AuthenticationError, RateLimitedError
from attestgw.identity import Principal

ALICE = Principal(subject="alice", issuer="https://issuer.test", tenant="acme")
BOB = Principal(subject="bob", issuer="https://issuer.test", tenant="acme")
ALICE_TOKEN = "alice-token-3f9a0c1d"
BOB_TOKEN = "bob-token-77e1b2aa"


class StaticTokens:
    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens = [(hashlib.sha256(t.encode()).digest(), p) for t, p in tokens.items()]

    async def authenticate(self, authorization: str | None) -> Principal:
        if authorization is None:
            raise AuthenticationError("auth.token_missing", "no Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("auth.token_malformed", "want 'Bearer <token>'")
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for known, principal in self._tokens:
            if hmac.compare_digest(known, digest):
                found = principal
        if found is None:
            raise AuthenticationError("auth.api_key_invalid", "unknown token")
        return found


class AllowList:
    def __init__(self, allowed: set[tuple[str, Action, str]]) -> None:
        self.allowed = allowed
        self._ids = itertools.count(1)

    def authorize(self, principal: Principal, action: Action, resource: str) -> Decision:
        ok = (principal.subject, action, resource) in self.allowed or (
            principal.subject,
            action,
            "*",
        ) in self.allowed
        return Decision(
            decision_id=f"dec-{next(self._ids)}",
            allowed=ok,
            principal_digest=principal.digest,
            action=action,
            resource=resource,
            policy_ids=("allow-list",) if ok else (),
        )


class CountingQuotas:
    def __init__(self, max_requests: int = 1_000_000, max_streams: int = 1000) -> None:
        self.max_requests = max_requests
        self.max_streams = max_streams
        self.requests: Counter[str] = Counter()
        self.streams: Counter[str] = Counter()

    def check_rate(self, principal: Principal) -> None:
        self.requests[principal.digest] += 1
        if self.requests[principal.digest] > self.max_requests:
            raise RateLimitedError("quota.rate_exceeded", "too many requests", retry_after=7)

    @asynccontextmanager
    async def _hold(self, principal: Principal) -> AsyncIterator[None]:
        if self.streams[principal.digest] >= self.max_streams:
            raise RateLimitedError("quota.concurrency_exceeded", "too many streams", retry_after=1)
        self.streams[principal.digest] += 1
        try:
            yield
        finally:
            self.streams[principal.digest] -= 1

    def stream(self, principal: Principal) -> Any:
        return self._hold(principal)


class MemoryRecorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, object]]] = []

    def record(self, kind: str, fields: Mapping[str, object]) -> int | None:
        self.records.append((kind, dict(fields)))
        return len(self.records) - 1

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.records]

    def of(self, kind: str) -> list[dict[str, object]]:
        return [fields for k, fields in self.records if k == kind]
