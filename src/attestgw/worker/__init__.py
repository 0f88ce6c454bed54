"""The enclave inference worker (edge layer): sealed OHTTP endpoints in front of an OpenAI-style API.

``create_app(settings, services)`` builds the Starlette app of ``docs/worker-protocol.md``; the model
engine lives in :mod:`attestgw.worker.engine` (the only place torch is imported). Importing this
package does not import torch. See ``docs/worker.md``.
"""

from __future__ import annotations

from attestgw.worker.app import create_app
from attestgw.worker.attestation import AttestationService, parse_nonce
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.inner import InnerApp, InnerAppError
from attestgw.worker.sealed import RECEIPT_FIELD
from attestgw.worker.settings import INFERENCE_PATHS, ServedModel, WorkerServices, WorkerSettings
from attestgw.worker.state import StateDir

__all__ = [
    "INFERENCE_PATHS",
    "RECEIPT_FIELD",
    "AttestationService",
    "InnerApp",
    "InnerAppError",
    "ServedModel",
    "StateDir",
    "WorkerIdentity",
    "WorkerServices",
    "WorkerSettings",
    "create_app",
    "parse_nonce",
]
