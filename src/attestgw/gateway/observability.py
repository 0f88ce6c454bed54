"""Request ids, structured logs and Prometheus metrics for one gateway app (nothing global).

* :func:`request_id` keeps a caller's ``X-Request-Id`` when it is 1-128 characters of
  ``[A-Za-z0-9._:-]`` and otherwise makes a new random one, so a hostile id can never inject log
  lines or header bytes.
* :func:`make_logger` builds a structlog JSON logger with its own processor chain (no call to
  ``structlog.configure``): level, ISO time, then :func:`redact` just before the renderer.
  :func:`redact` drops any event key that names a secret or a body (``authorization``, ``token``,
  ``body``, ``cookie``, …) and replaces any string value that carries a bearer credential. The
  gateway never logs bodies, tokens or the ``Authorization`` header in the first place; redaction is
  the second line.
* :class:`Metrics` owns one :class:`prometheus_client.CollectorRegistry`. Labels are route
  *templates* (``/v1/models/{model}/ohttp``), methods, status codes, model ids and worker ids —
  never raw paths, principals or request ids, which would leak identities and explode cardinality.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["REQUEST_ID_HEADER", "Metrics", "make_logger", "redact", "request_id"]

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")
_SECRET_KEYS = re.compile(r"authorization|token|secret|password|cookie|body|prompt|plaintext", re.I)
_BEARER = re.compile(r"bearer\s+\S+|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", re.I)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def request_id(offered: str | None) -> str:
    """The caller's id if well-formed (see module docstring), else a fresh 128-bit random one."""
    if offered is not None and _REQUEST_ID.match(offered):
        return offered
    return secrets.token_hex(16)


def redact(_logger: object, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: drop secret-named keys, blank bearer-looking values (see module docstring)."""
    for key in [k for k in event if k != "event" and _SECRET_KEYS.search(k)]:
        del event[key]
    for key, value in event.items():
        if isinstance(value, str) and _BEARER.search(value):
            event[key] = _BEARER.sub("[redacted]", value)
    return event


def make_logger(stream: TextIO | None = None) -> Any:
    """A JSON-lines logger writing to ``stream`` (default: stderr)."""
    return structlog.wrap_logger(
        structlog.PrintLogger(stream if stream is not None else sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        context_class=dict,
    )


class Metrics:
    """The gateway's metrics in a registry of its own; :meth:`render` is the ``/metrics`` body."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "attestgw_gateway_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "attestgw_gateway_request_duration_seconds",
            "Time to the end of the response, by route template",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "attestgw_gateway_requests_in_flight", "Requests being answered", registry=self.registry
        )
        self.relayed_bytes = Counter(
            "attestgw_gateway_relayed_bytes",
            "Sealed bytes relayed, by route template and direction (request, response)",
            ["route", "direction"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "attestgw_gateway_upstream_errors",
            "Failed exchanges with workers, by worker id and error code",
            ["worker", "code"],
            registry=self.registry,
        )
        self.workers = Gauge(
            "attestgw_gateway_workers",
            "Configured workers by state (admitted, healthy, refused)",
            ["state"],
            registry=self.registry,
        )
        self.admissions = Counter(
            "attestgw_gateway_worker_admissions",
            "Worker attestations by outcome (admitted, refused, evicted)",
            ["outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
