"""Quota settings: the ``[quotas]`` table of the gateway settings file, validated.

.. code-block:: toml

    [quotas]
    max_tracked_keys = 100000   # buckets kept in memory (least recently used are evicted)

    [quotas.principal]          # every caller, keyed by principal digest
    rate = 5.0                  # requests per second, sustained
    burst = 10                  # requests allowed at once (bucket size)
    streams = 4                 # concurrent streams

    [quotas.tenant]             # every tenant, shared by its callers (a caller without tenant is its own)
    rate = 50.0
    burst = 100
    streams = 32

    [quotas.roles.batch]        # callers holding role "batch": overrides [quotas.principal] fields
    rate = 20.0

    [quotas.tenants.acme]       # tenant "acme": overrides [quotas.tenant] fields
    streams = 64

A missing table or field takes the default shown in :class:`Limits` / :class:`QuotaSettings`. Unknown
keys, wrong types (``true`` is not a number), non-finite or out-of-range values are refused with
``ConfigError("config.gateway_invalid")`` naming the key. Not checked: that the numbers suit the
deployment.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from attestgw.errors import ConfigError

__all__ = ["Limits", "QuotaSettings", "load_quota_settings", "parse_quota_settings"]

_CODE = "config.gateway_invalid"
_MAX_RATE = 1_000_000.0
_MAX_COUNT = 1_000_000
_MAX_KEYS = 10_000_000
_LIMIT_KEYS = frozenset({"rate", "burst", "streams"})


@dataclass(frozen=True, slots=True)
class Limits:
    """One bucket's limits: ``rate`` tokens per second refill up to ``burst``; ``streams`` at once."""

    rate: float
    burst: int
    streams: int


def _no_overrides() -> Mapping[str, Limits]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """Validated quota settings; build with :func:`parse_quota_settings` or :func:`load_quota_settings`."""

    principal: Limits = Limits(rate=5.0, burst=10, streams=4)
    tenant: Limits = Limits(rate=50.0, burst=100, streams=32)
    roles: Mapping[str, Limits] = field(default_factory=_no_overrides)
    tenants: Mapping[str, Limits] = field(default_factory=_no_overrides)
    max_tracked_keys: int = 100_000


def _fail(key: str, detail: str) -> ConfigError:
    return ConfigError(_CODE, f"quotas.{key}: {detail}")


def _table(value: object, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(key, f"got {type(value).__name__}, want a table")
    return value


def _count(value: object, key: str, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise _fail(key, f"got {value!r}, want an integer 1..{upper}")
    return value


def _rate(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"got {value!r}, want a number of requests per second")
    rate = float(value)
    if not math.isfinite(rate) or not 0 < rate <= _MAX_RATE:
        raise _fail(key, f"got {value!r}, want a finite number > 0 and ≤ {_MAX_RATE:g}")
    return rate


def _limits(value: object, key: str, base: Limits) -> Limits:
    table = _table(value, key)
    unknown = sorted(set(table) - _LIMIT_KEYS)
    if unknown:
        raise _fail(key, f"unknown key(s) {', '.join(unknown)}; want rate, burst, streams")
    limits = base
    if "rate" in table:
        limits = replace(limits, rate=_rate(table["rate"], f"{key}.rate"))
    if "burst" in table:
        limits = replace(limits, burst=_count(table["burst"], f"{key}.burst", _MAX_COUNT))
    if "streams" in table:
        limits = replace(limits, streams=_count(table["streams"], f"{key}.streams", _MAX_COUNT))
    return limits


def _overrides(value: object, key: str, base: Limits) -> Mapping[str, Limits]:
    table = _table(value, key)
    out: dict[str, Limits] = {}
    for name, entry in table.items():
        if not name or len(name) > 256:
            raise _fail(key, f"got a name of length {len(name)}, want 1..256 characters")
        out[name] = _limits(entry, f"{key}.{name}", base)
    return MappingProxyType(out)


def parse_quota_settings(table: object) -> QuotaSettings:
    """Validate the ``[quotas]`` table (already decoded from TOML; ``None`` means absent)."""
    defaults = QuotaSettings()
    if table is None:
        return defaults
    quotas = _table(table, "(table)")
    unknown = sorted(set(quotas) - {"principal", "tenant", "roles", "tenants", "max_tracked_keys"})
    if unknown:
        raise _fail(unknown[0], "unknown key; want principal, tenant, roles, tenants, max_tracked_keys")
    principal = _limits(quotas.get("principal", {}), "principal", defaults.principal)
    tenant = _limits(quotas.get("tenant", {}), "tenant", defaults.tenant)
    max_keys = defaults.max_tracked_keys
    if "max_tracked_keys" in quotas:
        max_keys = _count(quotas["max_tracked_keys"], "max_tracked_keys", _MAX_KEYS)
    return QuotaSettings(
        principal=principal,
        tenant=tenant,
        roles=_overrides(quotas.get("roles", {}), "roles", principal),
        tenants=_overrides(quotas.get("tenants", {}), "tenants", tenant),
        max_tracked_keys=max_keys,
    )


def load_quota_settings(path: str | os.PathLike[str]) -> QuotaSettings:
    """Read a TOML settings file and validate its ``[quotas]`` table (absent: defaults)."""
    try:
        document = tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(_CODE, f"{os.fspath(path)}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(_CODE, f"{os.fspath(path)}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_CODE, f"{os.fspath(path)}: not valid TOML: {exc}") from None
    return parse_quota_settings(document.get("quotas"))
