"""The worker's in-memory identity: OHTTP keys, receipt key, measurement and instance digest.

Generated once when the app is created, inside the TEE, and never written anywhere: a restart makes
new keys (clients re-attest when the key configuration changes). The OHTTP keys are an X25519 config
(key id 1) and, when asked, an X-Wing config (key id 2); the receipt key is Ed25519.

The measurement is learnt from the TEE itself: at start the worker asks its attester for one report
(bound to a random nonce and these keys) and reads MEASUREMENT from it. That also proves at start
that the attester works. Only SEV-SNP is served for now: a TDX quote is refused with
``attester.unsupported_provider`` until attestgw has a TDX parser.

Not checked here: that the report is genuine (only a relying party can decide that).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from attestgw.attester.base import CpuAttester, CpuEvidence
from attestgw.crypto.hpke import KEM_XWING
from attestgw.errors import ConfigError, FormatError
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.evidence.snp import parse_report
from attestgw.ohttp import ReplayWindow, Server, ServerKey
from attestgw.receipt import ReceiptSigner, instance_digest

__all__ = ["PQ_KEY_ID", "X25519_KEY_ID", "WorkerIdentity", "report_data_of"]

X25519_KEY_ID = 1
PQ_KEY_ID = 2


def report_data_of(evidence: CpuEvidence) -> bytes:
    """REPORT_DATA of collected evidence (SEV-SNP only; ``attester.unsupported_provider`` otherwise)."""
    if evidence.tee != "snp":
        raise ConfigError(
            "attester.unsupported_provider",
            f"the worker serves SEV-SNP evidence only for now, the attester produced {evidence.tee!r}",
        )
    try:
        return parse_report(evidence.report).report_data
    except FormatError as exc:
        raise FormatError("attester.invalid_output", f"the attester's report does not parse: {exc}") from None


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """Keys and digests fixed for the life of the process. ``repr`` shows fingerprints only."""

    server: Server
    receipt_signer: ReceiptSigner
    ohttp_keys: bytes = field(repr=False)
    receipt_spki: bytes = field(repr=False)
    measurement: bytes
    tee: str
    simulated: bool
    evidence_digest: str

    @classmethod
    def start(
        cls, attester: CpuAttester, *, pq_key: bool = False, replay_window: ReplayWindow | None = None
    ) -> WorkerIdentity:
        """Generate the keys, collect one report to learn the measurement, derive the instance digest."""
        keys = [ServerKey.generate(X25519_KEY_ID)]
        if pq_key:
            keys.append(ServerKey.generate(PQ_KEY_ID, kem_id=KEM_XWING))
        server = Server(keys, replay_window=replay_window)
        signer = ReceiptSigner.generate()
        ohttp_keys = server.key_configs()
        spki = signer.spki_der
        wanted = report_data(BindingInputs.from_material(os.urandom(32), ohttp_keys, spki))
        evidence = attester.collect(wanted)
        if report_data_of(evidence) != wanted:
            raise FormatError("attester.invalid_output", "the report's REPORT_DATA is not the one requested")
        measurement = parse_report(evidence.report).measurement
        return cls(
            server=server,
            receipt_signer=signer,
            ohttp_keys=ohttp_keys,
            receipt_spki=spki,
            measurement=measurement,
            tee=evidence.tee,
            simulated=evidence.simulated,
            evidence_digest=instance_digest(measurement, ohttp_keys, spki).hex(),
        )

    @property
    def ohttp_keys_sha256(self) -> str:
        return hashlib.sha256(self.ohttp_keys).hexdigest()
