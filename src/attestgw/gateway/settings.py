"""Gateway settings: a TOML file plus ``ATTESTGW_*`` environment overrides, validated once at start.

:func:`load_settings` reads the file, applies the overrides, validates everything and returns a frozen
:class:`GatewaySettings`; any problem (unreadable file, bad TOML, unknown key, wrong type, value out of
range, a worker URL that is not ``http(s)://host[:port]``) is ``ConfigError("config.gateway_invalid")``
naming the key. The worker appraisal policy the file points to is loaded separately with
:func:`attestgw.appraisal.load_policy` (its own errors, ``config.policy_invalid``).

Environment overrides: ``ATTESTGW_<KEY>`` sets a top-level key, ``ATTESTGW_<SECTION>__<KEY>`` a key of
a section (names are case-insensitive). The value is read as a TOML value when it parses as one
(``30``, ``true``, ``["a", "b"]``, ``[{url = "http://…"}]``), otherwise as a string. A variable with
``__`` whose section is unknown is refused (a typo must not be ignored silently); other ``ATTESTGW_``
variables (``ATTESTGW_TOKEN``, ``ATTESTGW_CORPUS``) belong to other commands and are not read here.

The ``[identity]``, ``[access]``, ``[quotas]`` and ``[log]`` tables are passed through unchecked to the
services that read them (their own loaders validate them). Not checked here: whether workers answer
(the pool finds out), whether the policy file exists (its loader says so).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from attestgw.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "MODEL_ID_PATTERN",
    "GatewaySettings",
    "PoolSettings",
    "RelaySettings",
    "WorkerEndpoint",
    "load_settings",
    "parse_listen",
    "parse_settings",
]

ENV_PREFIX = "ATTESTGW_"
#: Model ids as the attestation bundle allows them: printable ASCII without spaces, 1-256 characters.
MODEL_ID_PATTERN = r"\A[\x21-\x7e]{1,256}\Z"
_MODEL_ID = re.compile(MODEL_ID_PATTERN)
_OPAQUE = ("identity", "access", "quotas", "log")
_CODE = "config.gateway_invalid"
_MAX_FILE = 1 << 20

Seconds = Annotated[float, Field(gt=0, le=86_400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkerEndpoint(_Strict):
    """One worker: its base URL, an optional id for records (default: the URL), and its models.

    ``models`` empty means: serve whatever the worker's attested bundle lists.
    """

    url: str
    id: str | None = None
    models: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"want http(s)://host[:port], got {value!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("a worker URL has no query, fragment or credentials")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"bad port in {value!r}") from None
        return value.rstrip("/")

    @field_validator("models")
    @classmethod
    def _models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for model in value:
            if not _MODEL_ID.match(model):
                raise ValueError(f"model id {model!r} is not 1-256 printable ASCII characters")
        return value

    @property
    def worker_id(self) -> str:
        return self.id or self.url


class PoolSettings(_Strict):
    """Admission and upkeep of workers.

    ``policy``: the SEV-SNP appraisal policy a worker must satisfy (relative paths are relative to the
    settings file). ``reattest_interval_s``: how often an admitted worker is attested again.
    ``health_interval_s``: how often each worker is probed (and a refused one retried).
    ``attestation_timeout_s``: the whole admission exchange for one worker.
    """

    policy: Path
    reattest_interval_s: Seconds = 300.0
    health_interval_s: Seconds = 10.0
    attestation_timeout_s: Seconds = 30.0

    @field_validator("policy", mode="before")
    @classmethod
    def _path(cls, value: object) -> object:
        return Path(value) if isinstance(value, str) else value


class RelaySettings(_Strict):
    """The upstream client and request limits.

    ``connect_timeout_s``: to open a connection to a worker (then the next worker is tried).
    ``read_timeout_s``: the longest silence while waiting for a worker's bytes (``504`` before the
    answer starts; a cut stream after). ``max_request_bytes``: the largest sealed request body.
    ``max_connections``: the upstream connection pool. ``drain_timeout_s``: how long shutdown waits
    for in-flight streams.
    """

    connect_timeout_s: Seconds = 2.0
    read_timeout_s: Seconds = 120.0
    max_request_bytes: Annotated[int, Field(ge=1024, le=1 << 30)] = 4 * 1024 * 1024
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = 512
    drain_timeout_s: Seconds = 30.0


class GatewaySettings(_Strict):
    """Everything ``attestgw gateway serve`` needs; see the module docstring for the sources."""

    listen: str = "127.0.0.1:8000"
    access_log: bool = True
    workers: tuple[WorkerEndpoint, ...] = ()
    pool: PoolSettings
    relay: RelaySettings = RelaySettings()
    identity: dict[str, Any] = Field(default_factory=dict)
    access: dict[str, Any] = Field(default_factory=dict)
    quotas: dict[str, Any] = Field(default_factory=dict)
    log: dict[str, Any] = Field(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @model_validator(mode="after")
    def _unique_workers(self) -> GatewaySettings:
        if not self.workers:
            raise ValueError("at least one [[workers]] entry is required")
        ids = [w.worker_id for w in self.workers]
        if len(set(ids)) != len(ids):
            raise ValueError("worker ids (or URLs) must be unique")
        return self

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) → ``(host, port)``; ``ValueError`` otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"want HOST:PORT, got {text!r}")
    return host, int(port)


def _env_value(text: str) -> object:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _overrides(document: dict[str, Any], environ: Mapping[str, str]) -> None:
    top_keys = set(GatewaySettings.model_fields)
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        section, sep, leaf = key.partition("__")
        if not sep:
            if key in top_keys:
                document[key] = _env_value(environ[name])
            continue
        if section not in top_keys or not leaf:
            raise ConfigError(_CODE, f"environment variable {name}: no settings section {section!r}")
        table = document.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(_CODE, f"environment variable {name}: {section!r} is not a table")
        table[leaf] = _env_value(environ[name])


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "(settings)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_settings(
    data: bytes, *, source: str = "<settings>", environ: Mapping[str, str] | None = None
) -> GatewaySettings:
    """Validate settings bytes (UTF-8 TOML) with the environment overrides applied.

    A relative ``pool.policy`` stays relative here; :func:`load_settings` anchors it at the file.
    """
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(_CODE, f"{source}: not UTF-8 TOML ({exc})") from None
    _overrides(document, os.environ if environ is None else environ)
    for name in _OPAQUE:
        if not isinstance(document.get(name, {}), dict):
            raise ConfigError(_CODE, f"{source}: [{name}] must be a table")
    try:
        return GatewaySettings.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_CODE, f"{source}: {_describe(exc)}") from None


def load_settings(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> GatewaySettings:
    """Read and validate the settings file; a relative ``pool.policy`` is resolved next to it."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise ConfigError(_CODE, f"cannot read the settings file {file}: {exc.strerror}") from None
    if len(data) > _MAX_FILE:
        raise ConfigError(_CODE, f"{file}: larger than {_MAX_FILE} bytes")
    settings = parse_settings(data, source=str(file), environ=environ)
    if not settings.pool.policy.is_absolute():
        pool = settings.pool.model_copy(update={"policy": file.parent / settings.pool.policy})
        settings = settings.model_copy(update={"pool": pool})
    return settings
