"""``GET /attestation?nonce=``: the evidence bundle of ``docs/worker-protocol.md`` §1.

Steps of :meth:`AttestationService.bundle` (blocking; the route runs it in a worker thread):

1. with a GPU attester: derive the GPU nonce from (nonce, K, R) and collect each GPU's evidence
   (one serialized-evidence object per device, kept byte for byte), plus the RIMs and OCSP
   responses the attester has (:class:`GpuCollateralSource`);
2. REPORT_DATA = ``report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_spki, gpu))``:
   the CPU evidence commits to G over exactly the GPU evidence bytes the bundle carries;
3. ask the CPU attester for evidence with that REPORT_DATA;
4. check the report carries exactly that REPORT_DATA (``attester.invalid_output`` otherwise: a
   kernel or backend that returned another report must not be served as this one);
5. return the JSON bundle: the evidence and collateral, the exact ``application/ohttp-keys`` bytes,
   the receipt key, GPU evidence and collateral, the served models and the binding label. For a TDX
   quote (``tee: "tdx"``) the evidence also carries ``collateral`` (the Intel PCS collateral bundle
   JSON) and ``event_log`` (the CC event log), each base64 or null; SEV-SNP bundles are unchanged.

Not checked: that the nonce is fresh (the verifier's business), or anything about the evidence
beyond its REPORT_DATA (the relying party verifies and appraises it).
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import Any, Protocol, runtime_checkable

from attestgw.attester.base import CpuAttester, GpuAttester
from attestgw.errors import FormatError, UsageError
from attestgw.evidence.binding import BindingInputs, gpu_nonce, report_data
from attestgw.worker.identity import WorkerIdentity, report_data_of
from attestgw.worker.settings import ServedModel

__all__ = ["BINDING_LABEL", "BUNDLE_VERSION", "AttestationService", "GpuCollateralSource", "parse_nonce"]

BUNDLE_VERSION = 1
BINDING_LABEL = "attestgw/report-data/v1"
_NONCE = re.compile(r"\A[0-9a-f]{64}\Z")


def parse_nonce(text: str | None) -> bytes:
    """The verifier's nonce: exactly 64 lowercase hex digits (32 bytes), else ``usage.invalid``."""
    if text is None or not _NONCE.match(text):
        raise UsageError("usage.invalid", "nonce must be 32 bytes as 64 lowercase hex digits")
    return bytes.fromhex(text)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


@runtime_checkable
class GpuCollateralSource(Protocol):
    """A GPU attester that also hands out collateral: (RIM documents, DER OCSP responses)."""

    def collateral(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]: ...


class AttestationService:
    """Builds evidence bundles bound to a nonce and this worker's keys."""

    __slots__ = ("_cpu", "_gpu", "_identity", "_models")

    def __init__(
        self,
        identity: WorkerIdentity,
        cpu_attester: CpuAttester,
        models: tuple[ServedModel, ...],
        gpu_attester: GpuAttester | None = None,
    ) -> None:
        self._identity = identity
        self._cpu = cpu_attester
        self._gpu = gpu_attester
        self._models = models

    def bundle(self, nonce: bytes) -> dict[str, Any]:
        """The bundle for ``nonce`` (32 bytes) as a JSON-ready dict. See the module steps."""
        identity = self._identity
        gpu: list[bytes] | None = None
        collateral: dict[str, list[str | None]] | None = None
        if self._gpu is not None:
            unbound = BindingInputs.from_material(nonce, identity.ohttp_keys, identity.receipt_spki)
            gpu = list(self._gpu.collect(gpu_nonce(unbound)))
            if isinstance(self._gpu, GpuCollateralSource):
                rims, ocsp = self._gpu.collateral()
                collateral = {"rims": [_b64(r) for r in rims], "ocsp": [_b64(o) for o in ocsp]}
        inputs = BindingInputs.from_material(nonce, identity.ohttp_keys, identity.receipt_spki, gpu)
        wanted = report_data(inputs)
        evidence = self._cpu.collect(wanted)
        if not hmac.compare_digest(report_data_of(evidence), wanted):
            raise FormatError("attester.invalid_output", "the report's REPORT_DATA is not the one requested")
        cpu: dict[str, Any] = {
            "report": _b64(evidence.report),
            "cert_table": _b64(evidence.cert_table),
            "signing_cert": _b64(evidence.signing_cert),
            "chain": None if evidence.chain is None else evidence.chain.decode("ascii"),
            "crl": _b64(evidence.crl),
            "provider": evidence.provider,
            "generation": evidence.generation,
            "auxblob": _b64(evidence.auxblob),
        }
        if evidence.tee == "tdx":
            cpu.update(collateral=_b64(evidence.collateral), event_log=_b64(evidence.event_log))
        return {
            "version": BUNDLE_VERSION,
            "tee": evidence.tee,
            "simulated": evidence.simulated,
            "nonce": nonce.hex(),
            "evidence": cpu,
            "ohttp_keys": _b64(identity.ohttp_keys),
            "receipt_key": {"alg": identity.receipt_signer.algorithm, "spki": _b64(identity.receipt_spki)},
            "gpu_evidence": None if gpu is None else [_b64(blob) for blob in gpu],
            "gpu_collateral": collateral,
            "models": [{"id": m.id, "digest": m.digest} for m in self._models],
            "binding": BINDING_LABEL,
        }
