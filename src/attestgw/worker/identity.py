"""The worker's in-memory identity: OHTTP keys, receipt key, measurement and instance digest.

Generated once when the app is created, inside the TEE, and never written anywhere: a restart makes
new keys (clients re-attest when the key configuration changes). The OHTTP keys are an X25519 config
(key id 1) and, when asked, an X-Wing config (key id 2); the receipt key is Ed25519, or ECDSA
P-256 (ES256) when the settings ask for it.

The measurement is learnt from the TEE itself: at start the worker asks its attester for one report
(bound to a random nonce and these keys) and reads it: SEV-SNP MEASUREMENT, or Intel TDX MRTD (the
TD's build-time measurement; RTMRs are runtime registers and are left to the policy). That also
proves at start that the attester works. Evidence of any other TEE kind is refused with
``attester.unsupported_provider``; a report or quote that does not parse (or an SGX quote) with
``attester.invalid_output``.

Not checked here: that the report is genuine (only a relying party can decide that).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from attestgw.attester.base import CpuAttester, CpuEvidence
from attestgw.crypto.hpke import KEM_XWING
from attestgw.crypto.receipt_keys import ED25519
from attestgw.errors import ConfigError, FormatError
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.evidence.snp import parse_report
from attestgw.evidence.tdx import parse_quote
from attestgw.ohttp import ReplayWindow, Server, ServerKey
from attestgw.receipt import ReceiptSigner, instance_digest

__all__ = ["PQ_KEY_ID", "X25519_KEY_ID", "WorkerIdentity", "report_data_of"]

X25519_KEY_ID = 1
PQ_KEY_ID = 2


def _report_data_and_measurement(evidence: CpuEvidence) -> tuple[bytes, bytes]:
    """(REPORT_DATA, measurement) of SEV-SNP evidence (MEASUREMENT) or a TDX quote (REPORTDATA, MRTD)."""
    if evidence.tee not in ("snp", "tdx"):
        raise ConfigError(
            "attester.unsupported_provider",
            f"the worker serves SEV-SNP or TDX evidence, the attester produced {evidence.tee!r}",
        )
    try:
        if evidence.tee == "snp":
            report = parse_report(evidence.report)
            return report.report_data, report.measurement
        body = parse_quote(evidence.report).td_body
    except FormatError as exc:
        raise FormatError("attester.invalid_output", f"the attester's report does not parse: {exc}") from None
    if body is None:
        raise FormatError("attester.invalid_output", "the attester produced an SGX quote, not a TD quote")
    return body.report_data, body.mr_td


def report_data_of(evidence: CpuEvidence) -> bytes:
    """REPORT_DATA of collected SEV-SNP or TDX evidence (``attester.unsupported_provider`` otherwise)."""
    return _report_data_and_measurement(evidence)[0]


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
        cls,
        attester: CpuAttester,
        *,
        pq_key: bool = False,
        replay_window: ReplayWindow | None = None,
        receipt_algorithm: str = ED25519,
    ) -> WorkerIdentity:
        """Generate the keys, collect one report to learn the measurement, derive the instance digest."""
        keys = [ServerKey.generate(X25519_KEY_ID)]
        if pq_key:
            keys.append(ServerKey.generate(PQ_KEY_ID, kem_id=KEM_XWING))
        server = Server(keys, replay_window=replay_window)
        signer = ReceiptSigner.generate(receipt_algorithm)
        ohttp_keys = server.key_configs()
        spki = signer.spki_der
        wanted = report_data(BindingInputs.from_material(os.urandom(32), ohttp_keys, spki))
        evidence = attester.collect(wanted)
        got, measurement = _report_data_and_measurement(evidence)
        if got != wanted:
            raise FormatError("attester.invalid_output", "the report's REPORT_DATA is not the one requested")
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
