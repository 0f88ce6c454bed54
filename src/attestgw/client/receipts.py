"""Check a worker's receipt against what this client attested, sent and received.

docs/worker-protocol.md §5: every response carries a receipt signed by the receipt key that the
attestation bound into REPORT_DATA. :func:`check_receipt` accepts it only when, in this order:

1. it is present (``receipt.missing``) and parses (``receipt.malformed``);
2. its signature verifies with the attested receipt key (``receipt.signature_invalid``) — nothing in
   an unsigned receipt is compared, so a forged one cannot probe which field differs;
3. ``request_sha256`` is the SHA-256 of the exact Binary HTTP request bytes this client sealed,
   ``response_sha256`` that of the content it received (streams: every body chunk, in order),
   ``evidence_digest`` the session's instance digest, ``key_id`` the key id the request was sealed to,
   and ``model`` a model the bundle announced with the same ``model_digest`` (``receipt.mismatch``,
   naming every field that differs).

Not checked: ``time`` (the worker's clock is not trusted for anything; the session's TTL bounds how
long one attestation is relied on) and ``redaction_policy_digest`` (no redaction policy exists yet).
"""

from __future__ import annotations

import hmac

from attestgw.client.session import AttestedSession
from attestgw.errors import FormatError, VerificationError
from attestgw.receipt import Receipt, decode_receipt, verify_receipt

__all__ = ["RECEIPT_FIELD", "check_receipt"]

#: The header (one-shot responses) or trailer (streams) that carries the receipt.
RECEIPT_FIELD = b"attestgw-receipt"


def check_receipt(
    encoded: bytes | None,
    session: AttestedSession,
    *,
    request_sha256: str,
    response_sha256: str,
) -> Receipt:
    """The verified receipt, or a ``FormatError`` / ``VerificationError`` (see module docstring)."""
    if encoded is None:
        raise VerificationError("receipt.missing", "the response carries no attestgw-receipt")
    receipt = decode_receipt(encoded)
    try:
        verify_receipt(receipt, session.receipt_spki)
    except FormatError:
        # the attested key was checked to be an Ed25519 or P-256 SPKI when the bundle was parsed
        raise VerificationError("receipt.signature_invalid", "the receipt key is unusable") from None
    differ = []
    if not hmac.compare_digest(receipt.request_sha256, request_sha256):
        differ.append(f"request_sha256: got {receipt.request_sha256}, want {request_sha256} (sent)")
    if not hmac.compare_digest(receipt.response_sha256, response_sha256):
        differ.append(f"response_sha256: got {receipt.response_sha256}, want {response_sha256} (received)")
    want_instance = session.instance_digest.hex()
    if not hmac.compare_digest(receipt.evidence_digest, want_instance):
        differ.append(f"evidence_digest: got {receipt.evidence_digest}, want {want_instance} (attested)")
    if receipt.key_id != session.key_config.key_id:
        differ.append(f"key_id: got {receipt.key_id}, want {session.key_config.key_id}")
    model = session.model(receipt.model)
    if model is None:
        announced = ", ".join(m.id for m in session.models)
        differ.append(f"model: got {receipt.model!r}, want one of the attested models [{announced}]")
    elif not hmac.compare_digest(receipt.model_digest, model.digest.hex()):
        differ.append(f"model_digest: got {receipt.model_digest}, want {model.digest.hex()}")
    if differ:
        raise VerificationError("receipt.mismatch", "; ".join(differ))
    return receipt
