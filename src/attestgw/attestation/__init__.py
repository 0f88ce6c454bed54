"""Attestation bundles (service layer): parse the worker's ``GET /attestation`` answer and decide on it.

Shared by every relying party: the client SDK (before sealing a prompt) and the gateway (before
admitting a worker to its pool). Parsing is :func:`parse_bundle`; the decision — verify, appraise with
the binding as the REPORT_DATA rule — is :func:`appraise_bundle`. No I/O here beyond the optional
collateral fetcher the caller passes in.
"""

from attestgw.attestation.appraise import (
    AppraisedBundle,
    AttestationRefused,
    appraise_bundle,
    select_key_config,
)
from attestgw.attestation.bundle import (
    BINDING_LABEL,
    MAX_BUNDLE_BYTES,
    ModelInfo,
    UnverifiedBundle,
    parse_bundle,
)

__all__ = [
    "BINDING_LABEL",
    "MAX_BUNDLE_BYTES",
    "AppraisedBundle",
    "AttestationRefused",
    "ModelInfo",
    "UnverifiedBundle",
    "appraise_bundle",
    "parse_bundle",
    "select_key_config",
]
