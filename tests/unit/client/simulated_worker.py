"""The worker's side of the protocol, in process, for the client's unit tests.

``SimulatedWorkerKeys`` holds what a worker generates at start (OHTTP server keys, receipt key) on a
simulated SEV-SNP guest, and builds bundles, sealed responses and receipts exactly as
docs/worker-protocol.md describes, so the client's parse/verify/open code can be tested without
sockets. The integration tests (tests/integration/client) run the real worker instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.bhttp import Field, Request, Response, decode_request, encode_response
from attestgw.bhttp.stream import ResponseStreamEncoder
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.evidence.snp import Product
from attestgw.ohttp import ChunkedResponseSealer, ReplayWindow, Server, ServerKey, ServerResponseSealer
from attestgw.receipt import Receipt, ReceiptSigner, encode_receipt, instance_digest
from tests.unit.attester.simulated_pki import authority

MODEL_ID = "tiny"
MODEL_DIGEST = hashlib.sha256(b"tiny model manifest").hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class SimulatedWorkerKeys:
    """One simulated worker instance: guest, OHTTP keys, receipt key, model list."""

    def __init__(self, product: Product = Product.GENOA) -> None:
        self.authority = authority(product)
        self.guest = SimulatedSnpAttester(self.authority, enable_simulation=True)
        self.server = Server([ServerKey.generate(1)], replay_window=ReplayWindow(max_entries=1024))
        self.signer = ReceiptSigner.generate()

    @property
    def ohttp_keys(self) -> bytes:
        return self.server.key_configs()

    @property
    def instance(self) -> str:
        return instance_digest(self.guest.measurement, self.ohttp_keys, self.signer.spki_der).hex()

    def policy(self, *, measurement: bytes | None = None, extra: str = "") -> SnpPolicy:
        """A policy trusting exactly this simulated root and (by default) this guest's measurement."""
        tcb = "\n".join(f"{name} = {spl}" for name, spl in self.guest.tcb.items())
        text = f"""
[policy]
id = "unit-simulated-worker"
version = "1"

[snp]
measurements = ["{(measurement or self.guest.measurement).hex()}"]
trust_simulated_roots = ["{self.authority.ark_sha256()}"]
{extra}

[snp.minimum_tcb]
{tcb}
"""
        return parse_policy(text.encode(), source="unit policy")

    def bundle(
        self,
        nonce: bytes,
        *,
        ohttp_keys: bytes | None = None,
        receipt_spki: bytes | None = None,
        bound_keys: bytes | None = None,
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> bytes:
        """The ``GET /attestation`` body. ``bound_keys``: what REPORT_DATA binds (default: what is sent)."""
        keys = self.ohttp_keys if ohttp_keys is None else ohttp_keys
        spki = self.signer.spki_der if receipt_spki is None else receipt_spki
        binding = BindingInputs.from_material(nonce, bound_keys or keys, self.signer.spki_der, None)
        evidence = self.guest.report(report_data(binding))
        obj: dict[str, Any] = {
            "version": 1,
            "tee": "snp",
            "simulated": True,
            "nonce": nonce.hex(),
            "evidence": {
                "report": b64(evidence.report),
                "cert_table": b64(evidence.cert_table),
                "signing_cert": b64(evidence.signing_cert),
                "chain": evidence.chain.decode("ascii"),
                "crl": None,
                "provider": "simulated-snp",
                "generation": 1,
                "auxblob": None,
            },
            "ohttp_keys": b64(keys),
            "receipt_key": {"alg": "Ed25519", "spki": b64(spki)},
            "gpu_evidence": None,
            "models": [{"id": MODEL_ID, "digest": MODEL_DIGEST}],
            "binding": "attestgw/report-data/v1",
        }
        if edit is not None:
            edit(obj)
        return json.dumps(obj).encode()

    def receipt(
        self, request_bytes: bytes, content_sha256: str, *, key_id: int = 1, **override: Any
    ) -> Receipt:
        fields: dict[str, Any] = {
            "request_sha256": hashlib.sha256(request_bytes).hexdigest(),
            "response_sha256": content_sha256,
            "model": MODEL_ID,
            "model_digest": MODEL_DIGEST,
            "evidence_digest": self.instance,
            "key_id": key_id,
        }
        fields.update(override)
        signer = fields.pop("signer", self.signer)
        return signer.sign(**fields)

    def answer(
        self, sealed: bytes, content: bytes = b'{"ok":true}', **override: Any
    ) -> tuple[Request, bytes]:
        """Open a one-shot sealed request and seal a 200 JSON answer carrying a receipt."""
        plaintext, sealer = self.server.open_request(sealed)
        return decode_request(plaintext), self.seal_answer(sealer, plaintext, content, **override)

    def seal_answer(
        self, sealer: ServerResponseSealer, plaintext: bytes, content: bytes, **override: Any
    ) -> bytes:
        omit = override.pop("omit_receipt", False)
        receipt = self.receipt(plaintext, hashlib.sha256(content).hexdigest(), **override)
        headers = [Field(b"content-type", b"application/json")]
        if not omit:
            headers.append(Field(b"attestgw-receipt", encode_receipt(receipt).encode()))
        return sealer.seal(encode_response(Response(200, tuple(headers), content)))

    def stream_answer(
        self,
        sealer: ChunkedResponseSealer,
        plaintext: bytes,
        events: list[bytes],
        *,
        content_type: bytes = b"text/event-stream",
        **override: Any,
    ) -> list[bytes]:
        """The sealed wire chunks of an SSE answer: head, one body per event, end with the receipt."""
        encoder = ResponseStreamEncoder()
        digest = hashlib.sha256()
        wire = [sealer.seal_chunk(encoder.head(200, [Field(b"content-type", content_type)]))]
        for event in events:
            digest.update(event)
            wire.append(sealer.seal_chunk(encoder.body(event)))
        receipt = self.receipt(plaintext, digest.hexdigest(), **override)
        wire.append(
            sealer.seal_final(encoder.end([Field(b"attestgw-receipt", encode_receipt(receipt).encode())]))
        )
        return wire
