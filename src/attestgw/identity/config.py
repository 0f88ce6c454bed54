"""What the gateway trusts an OpenID issuer for: :class:`IssuerConfig`, validated at load.

Built from a plain mapping (one ``[[identity.issuers]]`` table of the gateway settings TOML) with
:meth:`IssuerConfig.from_mapping`; every problem is a :class:`~attestgw.errors.ConfigError` with code
``config.issuer_invalid`` that names the field. Unknown fields are refused (a typo must not silently
weaken a check).

Strict defaults: RS256, PS256, ES256 and EdDSA only (``none`` and every HS* can never be configured:
an HMAC "verified" with a public key is forgeable); ``typ`` must be ``at+jwt`` (RFC 9068 §4);
at least one audience; 60 s leeway (at most 300 s). Issuer and JWKS URLs must be ``https``, except on a
loopback host (127.0.0.0/8, ``::1``, ``localhost``), where ``http`` is accepted for local deployments.

Not checked here: that the issuer is reachable or publishes usable keys (that is the JWKS cache's job,
at first use).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from attestgw.errors import ConfigError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "AT_JWT_TYPES",
    "DEFAULT_ALGORITHMS",
    "RFC9068_CLAIMS",
    "IssuerConfig",
    "JwksCacheSettings",
    "check_url",
]

#: JWS algorithms an issuer may be configured with (RFC 7518 §3.1 asymmetric ones, RFC 8037 EdDSA).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
#: ``typ`` values of an RFC 9068 access token (§4: "at+jwt", with or without the media-type prefix).
AT_JWT_TYPES = ("at+jwt", "application/at+jwt")
#: Claims RFC 9068 §2.2 makes REQUIRED in every JWT access token; always required here.
RFC9068_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")

_MAX_LEEWAY_S = 300
_ISSUER_FIELDS = frozenset(
    {
        "issuer",
        "audience",
        "audiences",
        "algorithms",
        "required_scopes",
        "tenant_claim",
        "groups_claim",
        "roles_claim",
        "leeway_s",
        "required_claims",
        "require_at_jwt_typ",
        "jwks_uri",
        "jwks_cache",
    }
)


def _invalid(message: str) -> ConfigError:
    return ConfigError("config.issuer_invalid", message)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(name: str, url: object) -> str:
    """``url`` if it is https (or http on a loopback host) without query, fragment or credentials."""
    if not isinstance(url, str) or not url:
        raise _invalid(f"{name} must be a non-empty URL string")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for an out-of-range or non-numeric port
    except ValueError as exc:
        raise _invalid(f"{name} {url!r} is not a valid URL") from exc
    secure = parts.scheme == "https" and bool(host)
    if not secure and not (parts.scheme == "http" and _is_loopback(host)):
        raise _invalid(f"{name} {url!r}: want an https URL (http only on a loopback host)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _invalid(f"{name} {url!r} must not carry a query, fragment or credentials")
    return url


def _check_claim_path(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or value.startswith(".") or value.endswith("."):
        raise _invalid(f"{name} must be a claim name or a dotted path such as realm_access.roles")
    return value


def _strings(name: str, value: object, *, allow_single: bool = False) -> tuple[str, ...]:
    if allow_single and isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise _invalid(f"{name} must be a list of strings")
    items = tuple(value)
    if not all(isinstance(item, str) and item for item in items):
        raise _invalid(f"{name} must contain only non-empty strings")
    return items


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{name} must be a number")
    if not low <= value <= high:
        raise _invalid(f"{name} is {value}, want {low}..{high}")
    return float(value)


@dataclass(frozen=True, slots=True)
class JwksCacheSettings:
    """Bounds of the JWKS cache (seconds and bytes); see :mod:`attestgw.identity.jwks`.

    ``default_ttl_s`` applies when the response has no ``Cache-Control: max-age``; any max-age is
    clamped to ``min_ttl_s..max_ttl_s``. ``refresh_min_interval_s`` is the shortest time between two
    refreshes forced by an unknown ``kid`` (or retried after a failure). ``stale_max_age_s`` is how long
    after a successful fetch its keys may still be used while refreshes fail.
    """

    default_ttl_s: float = 300.0
    min_ttl_s: float = 60.0
    max_ttl_s: float = 86_400.0
    refresh_min_interval_s: float = 30.0
    stale_max_age_s: float = 6 * 3600.0
    max_bytes: int = 256 * 1024
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        _number("jwks_cache.min_ttl_s", self.min_ttl_s, 0, 7 * 86_400)
        _number("jwks_cache.max_ttl_s", self.max_ttl_s, self.min_ttl_s, 7 * 86_400)
        _number("jwks_cache.default_ttl_s", self.default_ttl_s, self.min_ttl_s, self.max_ttl_s)
        _number("jwks_cache.refresh_min_interval_s", self.refresh_min_interval_s, 0, 3600)
        _number("jwks_cache.stale_max_age_s", self.stale_max_age_s, 0, 7 * 86_400)
        _number("jwks_cache.timeout_s", self.timeout_s, 0.1, 60)
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int):
            raise _invalid("jwks_cache.max_bytes must be an integer")
        _number("jwks_cache.max_bytes", self.max_bytes, 1024, 4 * 1024 * 1024)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> JwksCacheSettings:
        if not isinstance(data, Mapping):
            raise _invalid("jwks_cache must be a table")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise _invalid(f"jwks_cache: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:  # a wrongly typed value reaching a comparison
            raise _invalid(f"jwks_cache: {exc}") from exc


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One trusted OpenID issuer and what its access tokens must satisfy.

    * ``issuer`` — compared to ``iss`` and to the discovery document's ``issuer`` as exact strings
      (no normalisation: a trailing slash matters, as OpenID Connect Discovery §4.3 requires).
    * ``audiences`` — the token's ``aud`` must contain at least one of them.
    * ``algorithms`` — the JWS ``alg`` allow-list; a subset of :data:`ASYMMETRIC_ALGORITHMS`.
    * ``required_scopes`` — every one must be granted (``scope`` string or ``scp`` list).
    * ``tenant_claim`` / ``groups_claim`` / ``roles_claim`` — claim names or dotted paths
      (``realm_access.roles``); ``None`` means "not used". Tenant is a string; groups and roles are
      lists of strings (a missing claim means none; a wrongly typed one is refused).
    * ``leeway_s`` — tolerance for ``exp``, ``nbf`` and ``iat`` (0..300).
    * ``required_claims`` — claims required in addition to :data:`RFC9068_CLAIMS` (dotted paths allowed).
    * ``require_at_jwt_typ`` — when ``False`` (an explicit opt-in, recorded in the principal's
      ``opt_ins``), a token without ``typ`` or with ``typ: JWT`` is also accepted; other types (an ID
      token's, a DPoP proof's, …) are still refused.
    * ``jwks_uri`` — use this JWKS URL instead of the discovery document's.
    """

    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    required_scopes: frozenset[str] = field(default_factory=frozenset)
    tenant_claim: str | None = "tenant"
    groups_claim: str | None = "groups"
    roles_claim: str | None = "roles"
    leeway_s: int = 60
    required_claims: tuple[str, ...] = ()
    require_at_jwt_typ: bool = True
    jwks_uri: str | None = None
    jwks_cache: JwksCacheSettings = field(default_factory=JwksCacheSettings)

    def __post_init__(self) -> None:
        check_url("issuer", self.issuer)
        if self.jwks_uri is not None:
            check_url("jwks_uri", self.jwks_uri)
        audiences = _strings("audiences", self.audiences, allow_single=True)
        if not audiences:
            raise _invalid("at least one audience is required (RFC 9068 §4: the aud check is mandatory)")
        object.__setattr__(self, "audiences", audiences)
        algorithms = _strings("algorithms", self.algorithms)
        if not algorithms:
            raise _invalid("algorithms must not be empty")
        for alg in algorithms:
            if alg == "none" or alg.upper().startswith("HS"):
                raise _invalid(f"algorithm {alg!r} can never be allowed (unsigned or symmetric)")
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise _invalid(f"algorithm {alg!r} is unknown; want one of {sorted(ASYMMETRIC_ALGORITHMS)}")
        object.__setattr__(self, "algorithms", algorithms)
        scopes = _strings("required_scopes", tuple(self.required_scopes))
        if any(" " in scope for scope in scopes):
            raise _invalid("a required scope must not contain a space")
        object.__setattr__(self, "required_scopes", frozenset(scopes))
        for name in ("tenant_claim", "groups_claim", "roles_claim"):
            value = getattr(self, name)
            if value is not None:
                _check_claim_path(name, value)
        extra = _strings("required_claims", self.required_claims)
        for claim in extra:
            _check_claim_path("required_claims", claim)
        object.__setattr__(self, "required_claims", extra)
        if isinstance(self.leeway_s, bool) or not isinstance(self.leeway_s, int):
            raise _invalid("leeway_s must be an integer number of seconds")
        _number("leeway_s", self.leeway_s, 0, _MAX_LEEWAY_S)
        if not isinstance(self.require_at_jwt_typ, bool):
            raise _invalid("require_at_jwt_typ must be true or false")
        if not isinstance(self.jwks_cache, JwksCacheSettings):
            raise _invalid("jwks_cache must be JwksCacheSettings")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> IssuerConfig:
        """Validate one issuer table (TOML / JSON shape); see the class docstring for the fields.

        ``audience`` (a string or list) is accepted as a synonym of ``audiences``; ``jwks_cache`` is a
        nested table of :class:`JwksCacheSettings` fields.
        """
        if not isinstance(data, Mapping):
            raise _invalid("an issuer entry must be a table")
        unknown = sorted(str(key) for key in set(data) - _ISSUER_FIELDS)
        if unknown:
            raise _invalid(f"unknown field(s) {', '.join(unknown)}")
        if "audience" in data and "audiences" in data:
            raise _invalid("give audience or audiences, not both")
        if "issuer" not in data:
            raise _invalid("issuer is required")
        audiences = data.get("audiences", data.get("audience"))
        if audiences is None:
            raise _invalid("audience is required")
        kwargs: dict[str, Any] = {
            "issuer": data["issuer"],
            "audiences": _strings("audience", audiences, allow_single=True),
        }
        if "algorithms" in data:
            kwargs["algorithms"] = _strings("algorithms", data["algorithms"])
        if "required_scopes" in data:
            kwargs["required_scopes"] = frozenset(
                _strings("required_scopes", data["required_scopes"], allow_single=True)
            )
        if "required_claims" in data:
            kwargs["required_claims"] = _strings("required_claims", data["required_claims"])
        for name in ("tenant_claim", "groups_claim", "roles_claim", "leeway_s", "require_at_jwt_typ"):
            if name in data:
                kwargs[name] = data[name]
        for name in ("tenant_claim", "groups_claim", "roles_claim"):
            if kwargs.get(name) == "":
                kwargs[name] = None  # TOML has no null: "" switches the claim off
        if "jwks_uri" in data:
            kwargs["jwks_uri"] = data["jwks_uri"]
        if "jwks_cache" in data:
            kwargs["jwks_cache"] = JwksCacheSettings.from_mapping(data["jwks_cache"])
        return cls(**kwargs)
