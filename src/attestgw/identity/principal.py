"""Who is calling: the identity the gateway derived from a verified access token or API key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. Built only from a token whose signature and claims were verified.

    ``subject`` is the token's ``sub`` (or, for an API key, the key record's subject, which defaults to
    ``apikey:<id>``); ``issuer`` is ``iss`` (or ``"apikey"``). ``tenant``, ``groups`` and ``roles`` come
    from the claims the issuer configuration names. ``token_id`` is ``jti`` (or the API key id).
    ``opt_ins`` lists the relaxations of strict checking that this principal was accepted under (for
    example ``auth.typ_relaxed``); empty when every default check applied. Records and logs carry
    :attr:`digest`, never the subject itself.
    """

    subject: str
    issuer: str
    tenant: str | None = None
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    token_id: str | None = None
    expires_at: datetime | None = None
    opt_ins: frozenset[str] = field(default_factory=frozenset)

    @property
    def digest(self) -> str:
        """SHA-256 (hex) over issuer and subject, length-prefixed: stable, and says nothing readable."""
        h = hashlib.sha256(b"attestgw/principal/v1")
        for part in (self.issuer, self.subject):
            raw = part.encode("utf-8", "surrogatepass")  # a JSON "\\ud800" escape must not crash
            h.update(len(raw).to_bytes(4, "big") + raw)
        return h.hexdigest()

    @property
    def tenant_key(self) -> str:
        """The quota bucket for the tenant: the tenant id, or the principal itself when it has none."""
        return f"tenant:{self.tenant}" if self.tenant else f"principal:{self.digest}"
