"""Claim checks of an RFC 9068 access token whose signature was verified, and the principal it yields.

:func:`check_claims` is pure: the verified claims, the issuer configuration and ``now`` in, a
:class:`~attestgw.identity.principal.Principal` out. Checks, in order (each its own code):

1. ``exp`` (NumericDate, required): ``now >= exp + leeway`` → ``auth.token_expired``.
2. ``nbf`` (optional) and ``iat`` (required): later than ``now + leeway`` → ``auth.token_not_yet_valid``.
3. ``aud`` (string or array of strings): must contain a configured audience → ``auth.wrong_audience``.
4. ``sub``, ``client_id``, ``jti`` (non-empty strings, RFC 9068 §2.2) and every configured
   ``required_claims`` path (present, not null) → ``auth.claim_missing``.
5. Scopes from ``scope`` (space-delimited string, RFC 8693 §4.2) or, when absent, ``scp`` (array of
   strings, or a string); every required scope must be granted → ``auth.scope_missing``.
6. Tenant (string), groups and roles (arrays of strings) from the configured claim paths; absent means
   none, a wrong type → ``auth.claim_missing``.

A wrongly typed time claim is ``auth.claim_missing`` (it is not a NumericDate). ``iss`` was matched
exactly before the key lookup and is not re-checked. Not checked: ``auth_time``, ``acr``, ``amr``,
``cnf`` (sender-constrained tokens are not supported: a ``cnf`` claim is ignored, so DPoP / mTLS
binding is NOT enforced) and any claim not named above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attestgw.clock import require_aware
from attestgw.errors import AuthenticationError
from attestgw.identity.config import IssuerConfig
from attestgw.identity.principal import Principal

__all__ = ["check_claims", "claim_at"]

_MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z
_ABSENT = object()


def _missing(message: str) -> AuthenticationError:
    return AuthenticationError("auth.claim_missing", message)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim named ``path``, or the value at the dotted path ``a.b.c``; ``None`` when absent.

    An exact top-level name wins, so namespaced claims such as ``https://example.com/roles`` work.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name, _ABSENT)
    if value is _ABSENT:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _missing(f"the {name} claim is not a NumericDate")
    if not 0 <= value <= _MAX_NUMERIC_DATE:
        raise _missing(f"the {name} claim is out of range")
    return float(value)


def _required_date(claims: Mapping[str, Any], name: str) -> float:
    value = _numeric_date(claims, name)
    if value is None:
        raise _missing(f"the token has no {name} claim")
    return value


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise _missing(f"the {name} claim is missing or not a non-empty string")
    return value


def _string_list(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _missing(f"the {name} claim is not an array of strings")
    return tuple(value)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    if "scope" in claims:
        scope = claims["scope"]
        if not isinstance(scope, str):
            raise _missing("the scope claim is not a space-delimited string")
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset(_string_list(scp, "scp"))


def _audience_ok(claims: Mapping[str, Any], config: IssuerConfig) -> None:
    aud = claims.get("aud")
    if aud is None:
        raise _missing("the token has no aud claim")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise _missing("the aud claim is not a string or an array of strings")
    if not set(audiences) & set(config.audiences):
        raise AuthenticationError(
            "auth.wrong_audience",
            f"the token is not for {', '.join(config.audiences)} (aud {repr(audiences)[:200]})",
        )


def check_claims(
    claims: Mapping[str, Any], config: IssuerConfig, now: datetime, *, opt_ins: frozenset[str] = frozenset()
) -> Principal:
    """Steps 1–6 of the module docstring over VERIFIED claims; returns the principal.

    ``opt_ins`` are the relaxations the caller applied to this token (recorded in the principal).
    """
    at = require_aware(now).timestamp()
    leeway = config.leeway_s
    # 1–2. time
    exp = _required_date(claims, "exp")
    if at >= exp + leeway:
        raise AuthenticationError("auth.token_expired", f"the token's exp is past (leeway {leeway} s)")
    nbf = _numeric_date(claims, "nbf")
    if nbf is not None and nbf > at + leeway:
        raise AuthenticationError("auth.token_not_yet_valid", f"the token's nbf is ahead (leeway {leeway} s)")
    iat = _required_date(claims, "iat")
    if iat > at + leeway:
        raise AuthenticationError(
            "auth.token_not_yet_valid", f"the token's iat is in the future (leeway {leeway} s)"
        )
    # 3. audience
    _audience_ok(claims, config)
    # 4. required claims
    subject = _string(claims, "sub")
    client_id = _string(claims, "client_id")
    token_id = _string(claims, "jti")
    for path in config.required_claims:
        if claim_at(claims, path) is None:
            raise _missing(f"the required claim {path!r} is missing")
    # 5. scopes
    scopes = _scopes(claims)
    absent = sorted(config.required_scopes - scopes)
    if absent:
        raise AuthenticationError(
            "auth.scope_missing", f"the token lacks required scope(s) {' '.join(absent)}"
        )
    # 6. tenant, groups, roles
    tenant: str | None = None
    if config.tenant_claim is not None:
        value = claim_at(claims, config.tenant_claim)
        if value is not None and (not isinstance(value, str) or not value):
            raise _missing(f"the tenant claim {config.tenant_claim!r} is not a non-empty string")
        tenant = value
    groups = _string_list(claim_at(claims, config.groups_claim), "groups") if config.groups_claim else ()
    roles = _string_list(claim_at(claims, config.roles_claim), "roles") if config.roles_claim else ()
    return Principal(
        subject=subject,
        issuer=config.issuer,
        tenant=tenant,
        groups=groups,
        roles=roles,
        scopes=scopes,
        client_id=client_id,
        token_id=token_id,
        expires_at=datetime.fromtimestamp(exp, UTC),
        opt_ins=opt_ins,
    )
