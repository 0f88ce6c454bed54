"""Build the gateway's real services from its settings: identity, access, quotas, the evidence log, the pool.

:func:`build_services` reads the service tables that :mod:`attestgw.gateway.settings` passes through:

``[identity]``
    ``issuers`` — a list of issuer tables (:meth:`attestgw.identity.IssuerConfig.from_mapping`; at least
    one: OIDC is the default path); ``api_keys`` — optional path of a hashed API-key file.
``[access]``
    ``policies`` — a directory of Cedar policies and their schema (default: the shipped
    ``policies/access``); ``models`` — optional ``{model = {tenants = [...], tier = "..."}}``
    attributes. The model registry is every model a configured worker lists plus those named here.
``[quotas]``
    :func:`attestgw.access.parse_quota_settings`.
``[log]``
    ``db`` — a SQLite path or ``postgresql://`` URL (required: decisions are recorded durably);
    ``key`` — the log's private note key file (``origin`` is its name); ``create_key = true`` makes one
    (and ``key.pub`` beside it) when the file does not exist.

Every problem is a ``ConfigError`` at start (``config.gateway_invalid``, or the service's own
``config.*`` code); nothing is checked per request. The returned :class:`Wired` owns what must be
closed at shutdown (the log store, the JWKS HTTP client). The services' ``evidence_log`` is that store
with the worker policy and its bytes: the ``/v1/log`` API reads it and attestation answers are
appraised, recorded and proven with it (:mod:`attestgw.gateway.log_routes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO

import httpx

from attestgw.access import CedarAuthorizer, QuotaManager, parse_quota_settings
from attestgw.access.entities import ModelAttributes
from attestgw.attestation import BundlePolicy
from attestgw.errors import ConfigError
from attestgw.gateway.pool import WorkerPool
from attestgw.gateway.services import EvidenceLog, GatewayServices
from attestgw.gateway.settings import GatewaySettings
from attestgw.identity import (
    ApiKeyAuthenticator,
    CompositeAuthenticator,
    IssuerConfig,
    OidcAuthenticator,
    load_api_keys,
)
from attestgw.log import LogRecorder, LogStore, NoteSigner, load_signer, write_key_pair
from attestgw.log.database import open_backend

__all__ = ["Wired", "build_services", "shipped_access_policies"]

_CODE = "config.gateway_invalid"


def shipped_access_policies() -> Path:
    """The access policies shipped with the package (identical to the repository's policies/access)."""
    return Path(str(files("attestgw") / "data" / "access"))


@dataclass
class Wired:
    """The services, plus what to close when the gateway stops."""

    services: GatewayServices
    store: LogStore
    http: httpx.AsyncClient
    log_public_key: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.http.aclose()
        self.store.close()


def _table(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(_CODE, f"[{name}] must be a table")
    return value


def _identity(table: Mapping[str, Any], http: httpx.AsyncClient) -> CompositeAuthenticator:
    unknown = sorted(set(table) - {"issuers", "api_keys"})
    if unknown:
        raise ConfigError(_CODE, f"[identity]: unknown key(s) {', '.join(unknown)}")
    issuers = table.get("issuers")
    if not isinstance(issuers, list) or not issuers:
        raise ConfigError(_CODE, "[identity] issuers: at least one OIDC issuer table is required")
    oidc = OidcAuthenticator(
        [IssuerConfig.from_mapping(_table(i, "identity.issuers")) for i in issuers], http
    )
    api_keys = table.get("api_keys")
    if api_keys is None:
        return CompositeAuthenticator(oidc)
    if not isinstance(api_keys, str):
        raise ConfigError(_CODE, "[identity] api_keys must be a file path")
    return CompositeAuthenticator(oidc, ApiKeyAuthenticator(load_api_keys(Path(api_keys))))


def _models(settings: GatewaySettings, table: Mapping[str, Any]) -> dict[str, ModelAttributes]:
    described = _table(table.get("models", {}), "access.models")
    registry = {model: ModelAttributes() for worker in settings.workers for model in worker.models}
    for model, attributes in described.items():
        spec = _table(attributes, f"access.models.{model}")
        unknown = sorted(set(spec) - {"tenants", "tier"})
        tenants, tier = spec.get("tenants", []), spec.get("tier", "standard")
        if unknown or not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
            raise ConfigError(_CODE, f"[access.models.{model}]: want tenants = [strings], tier = string")
        if not isinstance(tier, str):
            raise ConfigError(_CODE, f"[access.models.{model}] tier must be a string")
        registry[str(model)] = ModelAttributes(tenants=frozenset(tenants), tier=tier)
    return registry


def _access(settings: GatewaySettings) -> CedarAuthorizer:
    table = settings.access
    unknown = sorted(set(table) - {"policies", "models"})
    if unknown:
        raise ConfigError(_CODE, f"[access]: unknown key(s) {', '.join(unknown)}")
    directory = table.get("policies")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError(_CODE, "[access] policies must be a directory path")
    path = Path(directory) if directory is not None else shipped_access_policies()
    return CedarAuthorizer.from_dir(path, _models(settings, table))


def _signer(table: Mapping[str, Any]) -> tuple[NoteSigner, Path | None]:
    key = table.get("key")
    if not isinstance(key, str):
        raise ConfigError(_CODE, "[log] key: the path of the log's private note key is required")
    path = Path(key)
    if not path.exists() and table.get("create_key") is True:
        origin = table.get("origin")
        if not isinstance(origin, str) or not origin:
            raise ConfigError(_CODE, "[log] origin is required to create a log key")
        public = path.with_name(path.name + ".pub")
        write_key_pair(NoteSigner.generate(origin), path, public)
        return load_signer(path), public
    public = path.with_name(path.name + ".pub")
    return load_signer(path), public if public.exists() else None


def _log(table: Mapping[str, Any]) -> tuple[LogStore, Path | None]:
    unknown = sorted(set(table) - {"db", "key", "create_key", "origin"})
    if unknown:
        raise ConfigError(_CODE, f"[log]: unknown key(s) {', '.join(unknown)}")
    db = table.get("db")
    if not isinstance(db, str) or not db:
        raise ConfigError(_CODE, "[log] db is required: every decision is recorded durably")
    signer, public = _signer(table)
    return LogStore(open_backend(db, origin=signer.name), signer=signer), public


def build_services(
    settings: GatewaySettings,
    worker_policy: BundlePolicy,
    *,
    policy_bytes: bytes,
    log_stream: TextIO | None = None,
) -> Wired:
    """The real services for ``settings`` (module docstring). Raises ``ConfigError`` on any problem.

    ``policy_bytes`` are the bytes ``worker_policy`` was parsed from (kept beside attestation records).
    """
    http = httpx.AsyncClient(timeout=10.0)
    store: LogStore | None = None
    try:
        authenticator = _identity(_table(settings.identity, "identity"), http)
        authorizer = _access(settings)
        quotas = QuotaManager(parse_quota_settings(settings.quotas))
        store, public = _log(_table(settings.log, "log"))
        recorder = LogRecorder(store)
        pool = WorkerPool(settings.workers, worker_policy, settings.pool, recorder, policy_bytes=policy_bytes)
    except BaseException:
        if store is not None:
            store.close()
        raise
    services = GatewayServices(
        authenticator=authenticator,
        authorizer=authorizer,
        quotas=quotas,
        recorder=recorder,
        pool=pool,
        log_stream=log_stream,
        evidence_log=EvidenceLog(
            store, worker_policy, policy_bytes, timedelta(seconds=settings.pool.reattest_interval_s)
        ),
    )
    return Wired(services, store, http, public)
