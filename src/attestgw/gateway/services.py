"""What ``create_app(settings, services)`` is given: the services behind the ports, and the worker pool.

The embedded default and the CLI wire the real services (:mod:`attestgw.identity`,
:mod:`attestgw.access`, :mod:`attestgw.log`); tests pass small local implementations of the same
protocols. Nothing here is global: two apps in one process share nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from attestgw.attestation import BundlePolicy
from attestgw.errors import ConfigError
from attestgw.gateway.pool import WorkerPool
from attestgw.gateway.ports import Authenticator, Authorizer, Quotas, Recorder
from attestgw.log import LogStore

__all__ = ["EvidenceLog", "GatewayServices"]


@dataclass(frozen=True, slots=True)
class EvidenceLog:
    """The evidence log as the gateway's routes see it (docs/gateway.md §log).

    ``store`` is read for the ``/v1/log/*`` API and for the proof that answers an attestation (it is
    the store the ``recorder`` appends to); ``policy`` (parsed from exactly ``policy_bytes``, checked
    against its digest) is the worker policy the gateway appraises each client's bundle with before
    recording it; an affirming record says the gateway may rely on it for ``valid_for``.
    """

    store: LogStore
    policy: BundlePolicy
    policy_bytes: bytes = field(repr=False)
    valid_for: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if hashlib.sha256(self.policy_bytes).hexdigest() != self.policy.digest:
            raise ConfigError(
                "config.gateway_invalid", "policy_bytes are not the bytes the policy was read from"
            )


@dataclass(frozen=True, slots=True)
class GatewayServices:
    """The gateway's collaborators.

    ``authenticator`` turns the ``Authorization`` header into a principal; ``authorizer`` decides
    principal × action × model; ``quotas`` limits rate and concurrent streams; ``recorder`` receives
    digest-only records (admissions, evictions, relays, denials); ``pool`` holds the workers (built
    with the same recorder). ``log_stream`` is where JSON log lines go (default: stderr).
    ``evidence_log``: the log the recorder writes, served read-only under ``/v1/log`` and used to
    prove each attestation answer's record; ``None`` (tests with a memory recorder): the log routes
    answer ``404 gateway.log_unavailable`` and attestation answers carry no log headers.
    """

    authenticator: Authenticator
    authorizer: Authorizer
    quotas: Quotas
    recorder: Recorder
    pool: WorkerPool
    log_stream: TextIO | None = None
    evidence_log: EvidenceLog | None = None
