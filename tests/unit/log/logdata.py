"""Real log contents for the log and audit tests: attestation records from the simulated SEV-SNP worker.

Builds entries the way the gateway will: it collects a bundle for a fresh nonce, decides with
``appraise_bundle`` at a fixed time, and records the outcome with the raw bundle, nonce and policy
bytes beside the leaf; then admissions, relays and denials that refer to it.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from attestgw.appraisal import build_ear, parse_policy
from attestgw.attestation import AttestationRefused, appraise_bundle
from attestgw.clock import utcnow
from attestgw.log import (
    BatchSettings,
    LogRecorder,
    LogStore,
    NoteSigner,
    attestation_fields,
    open_backend,
)
from tests.unit.client.simulated_worker import MODEL_ID, SimulatedWorkerKeys

ORIGIN = "audit.test/log"
SIGNER = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
WORKER = "worker-1"
PRINCIPAL = hashlib.sha256(b"principal alice").hexdigest()
VALID_FOR = timedelta(minutes=10)


class Clock:
    """A settable clock for the recorder: each call advances one second."""

    def __init__(self, start: datetime | None = None) -> None:
        # The simulated VCEK is issued when the worker is built: start after that.
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def policy_bytes(worker: SimulatedWorkerKeys, *, measurement: bytes | None = None) -> bytes:
    tcb = "\n".join(f"{name} = {spl}" for name, spl in worker.guest.tcb.items())
    return f"""
[policy]
id = "log-test"
version = "1"

[snp]
measurements = ["{(measurement or worker.guest.measurement).hex()}"]
trust_simulated_roots = ["{worker.authority.ark_sha256()}"]

[snp.minimum_tcb]
{tcb}
""".encode()


def attestation(
    worker: SimulatedWorkerKeys, at: datetime, *, measurement: bytes | None = None
) -> dict[str, object]:
    """The fields (raw bytes included) the gateway records for one attestation decided at ``at``."""
    nonce = os.urandom(32)
    bundle = worker.bundle(nonce)
    policy = policy_bytes(worker, measurement=measurement)
    try:
        appraised = appraise_bundle(bundle, nonce, parse_policy(policy), at=at)
        result, codes = appraised.result, list(appraised.result.codes)
        facts = (appraised.measurement, appraised.instance_digest)
    except AttestationRefused as refused:
        result, codes, facts = refused.result, list(refused.codes), (None, None)
    fields = attestation_fields(
        worker=WORKER,
        status=result.status.value,
        codes=codes,
        verified_at=at,
        valid_for=VALID_FOR,
        ear=build_ear(result, issued_at=at),
        measurement=facts[0],
        instance_digest=facts[1],
        simulated=result.simulated,
    )
    return {**fields, "bundle": bundle, "nonce": nonce, "policy": policy}


def relay(attestation_index: int, n: int) -> dict[str, object]:
    return {
        "principal_digest": PRINCIPAL,
        "model": MODEL_ID,
        "worker": WORKER,
        "key_id": 1,
        "ciphertext_digest": hashlib.sha256(b"request %d" % n).hexdigest(),
        "attestation_index": attestation_index,
    }


def denial(n: int) -> dict[str, object]:
    return {
        "decision_id": f"dec-{n}",
        "principal_digest": PRINCIPAL,
        "action": "infer",
        "resource": MODEL_ID,
        "policy_ids": ["deny-interns"],
        "code": "access.denied",
    }


def open_store(
    location: Path | str, *, batch: BatchSettings | None = None, signer: NoteSigner = SIGNER
) -> LogStore:
    """A writable store on a SQLite path or a ``postgresql://`` URL."""
    return LogStore(
        open_backend(location, origin=ORIGIN), signer=signer, batch=batch or BatchSettings(max_delay=0.0)
    )


def populate(recorder: LogRecorder, worker: SimulatedWorkerKeys, clock: Clock, *, relays: int = 3) -> int:
    """attestation, admission, relays, a denial; returns the attestation's index."""
    att = recorder.record("attestation.appraised", attestation(worker, clock()))
    recorder.record(
        "worker.admitted",
        {
            "worker": WORKER,
            "attestation_index": att,
            "instance_digest": worker.instance,
            "models": [MODEL_ID],
        },
    )
    for n in range(relays):
        recorder.record("inference.relayed", relay(att, n))
    recorder.record("authorization.denied", denial(0))
    return att
