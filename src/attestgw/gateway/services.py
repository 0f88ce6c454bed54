"""What ``create_app(settings, services)`` is given: the services behind the ports, and the worker pool.

The embedded default and the CLI wire the real services (:mod:`attestgw.identity`,
:mod:`attestgw.access`, :mod:`attestgw.log`); tests pass small local implementations of the same
protocols. Nothing here is global: two apps in one process share nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from attestgw.gateway.pool import WorkerPool
from attestgw.gateway.ports import Authenticator, Authorizer, Quotas, Recorder

__all__ = ["GatewayServices"]


@dataclass(frozen=True, slots=True)
class GatewayServices:
    """The gateway's collaborators.

    ``authenticator`` turns the ``Authorization`` header into a principal; ``authorizer`` decides
    principal × action × model; ``quotas`` limits rate and concurrent streams; ``recorder`` receives
    digest-only records (admissions, evictions, relays, denials); ``pool`` holds the workers (built
    with the same recorder). ``log_stream`` is where JSON log lines go (default: stderr).
    """

    authenticator: Authenticator
    authorizer: Authorizer
    quotas: Quotas
    recorder: Recorder
    pool: WorkerPool
    log_stream: TextIO | None = None
