"""Attestation bundles (service layer): parse the worker's ``GET /attestation`` answer and decide on it.

Shared by every relying party: the client SDK (before sealing a prompt) and the gateway (before
admitting a worker to its pool). Parsing is :func:`parse_bundle`; the decision — verify, appraise with
the binding as the REPORT_DATA rule — is :func:`appraise_bundle`. No I/O here beyond the optional
collateral fetcher the caller passes in.
"""

from attestgw.attestation._cpu import measurement_of
from attestgw.attestation._gpu import gpu_trust
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
from attestgw.attestation.policy import (
    BundlePolicy,
    as_bundle_policy,
    load_bundle_policy,
    parse_bundle_policy,
)

__all__ = [
    "BINDING_LABEL",
    "MAX_BUNDLE_BYTES",
    "AppraisedBundle",
    "AttestationRefused",
    "BundlePolicy",
    "ModelInfo",
    "UnverifiedBundle",
    "appraise_bundle",
    "as_bundle_policy",
    "gpu_trust",
    "load_bundle_policy",
    "measurement_of",
    "parse_bundle",
    "parse_bundle_policy",
    "select_key_config",
]
