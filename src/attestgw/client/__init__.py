"""The attestgw client SDK (edge layer, httpx): attest a worker, then talk to it only sealed.

- :func:`attest` / :func:`attest_async`: fresh nonce → bundle → verify → appraise (the binding is the
  REPORT_DATA rule) → :class:`AttestedSession`, or a typed refusal (:class:`AttestationRefused`
  lists every failed rule).
- :class:`AttestedTransport` / :class:`AsyncAttestedTransport`: httpx transports that seal each
  request with Oblivious HTTP to the attested key (chunked OHTTP for streams), open the response,
  verify its receipt, and re-attest when the session expires or the key config changes. The official
  ``openai`` client works unchanged on top of them.
- :func:`parse_bundle` / :func:`verify_bundle`: the parse and decide stages without I/O.
- :class:`LogMonitor` (``log_key=``): prove each attestation is in the gateway's signed evidence log
  and that the log never shows two views; :class:`LogApiClient`: the ``/v1/log`` API.

See ``docs/client.md``. The client never imports the worker, and the worker never imports the client.
"""

from attestgw.attestation import BINDING_LABEL, MAX_BUNDLE_BYTES, ModelInfo, UnverifiedBundle, parse_bundle
from attestgw.client.async_transport import AsyncAttestedTransport
from attestgw.client.attest import (
    AttestationRefused,
    AttestOptions,
    attest,
    attest_async,
    attestation_url,
    select_key_config,
    verify_bundle,
)
from attestgw.client.logapi import LogApiClient
from attestgw.client.logcheck import LogInclusion, LogMonitor
from attestgw.client.receipts import RECEIPT_FIELD, check_receipt
from attestgw.client.session import DEFAULT_TTL, AttestedSession, SessionCache
from attestgw.client.transport import RECEIPT_EXTENSION, AttestedTransport

__all__ = [
    "BINDING_LABEL",
    "DEFAULT_TTL",
    "MAX_BUNDLE_BYTES",
    "RECEIPT_EXTENSION",
    "RECEIPT_FIELD",
    "AsyncAttestedTransport",
    "AttestOptions",
    "AttestationRefused",
    "AttestedSession",
    "AttestedTransport",
    "LogApiClient",
    "LogInclusion",
    "LogMonitor",
    "ModelInfo",
    "SessionCache",
    "UnverifiedBundle",
    "attest",
    "attest_async",
    "attestation_url",
    "check_receipt",
    "parse_bundle",
    "select_key_config",
    "verify_bundle",
]
