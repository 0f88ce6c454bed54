"""Receipts: what the worker signs for every response (docs/worker-protocol.md §5).

A receipt binds the exact inner request bytes, the response content, the model, the redaction policy
and the attested worker instance, signed with the worker's receipt key (Ed25519, or ECDSA P-256
"ES256": see :mod:`attestgw.crypto.receipt_keys`; the algorithm is the attested key's). The key is
generated inside the TEE at start and bound into REPORT_DATA through the SHA-256 of its
SubjectPublicKeyInfo, so a client that attested the worker can check every receipt offline.

Wire form: base64url (no padding) of the canonical JSON of all fields including ``sig``; the signature
covers the canonical JSON of every field except ``sig``. Canonical JSON here means sorted keys,
separators ``,``/``:``, ASCII only — the receipt holds only strings and integers, for which this equals
RFC 8785.

Not checked here: whether the digests match what the caller sent and received, or whether the
instance digest is the attested one. Callers compare those; :func:`verify_receipt` only proves the
receipt key signed it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
import time
from typing import Any

from attestgw.crypto.receipt_keys import ED25519, ED25519_SPKI_PREFIX, ReceiptKey, receipt_verifier
from attestgw.errors import FormatError, VerificationError

__all__ = [
    "ED25519_SPKI_PREFIX",
    "EMPTY_POLICY_DIGEST",
    "Receipt",
    "ReceiptSigner",
    "RunningDigest",
    "decode_receipt",
    "encode_receipt",
    "instance_digest",
    "verify_receipt",
]

#: Until redaction policies exist, the digest of "no policy" is SHA-256 of the empty string.
EMPTY_POLICY_DIGEST = hashlib.sha256(b"").hexdigest()
_INSTANCE_LABEL = b"attestgw/instance/v1"
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")
_MAX_ENCODED = 4096


def _canonical(fields: dict[str, Any]) -> bytes:
    """The reference canonical form (sorted keys, no spaces, ASCII): what :func:`_signed_bytes` and
    :func:`encode_receipt` must equal (a test compares them on many receipts)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not _B64URL.match(text):
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def instance_digest(measurement: bytes, ohttp_keys: bytes, receipt_spki_der: bytes) -> bytes:
    """SHA-256("attestgw/instance/v1" ‖ measurement ‖ K ‖ R): the attested worker instance.

    K and R are SHA-256 of the served ``application/ohttp-keys`` body and of the receipt key's SPKI,
    as in the binding (docs/binding.md). Fields are length-prefixed so no two inputs collide.
    """
    parts = (
        _INSTANCE_LABEL,
        measurement,
        hashlib.sha256(ohttp_keys).digest(),
        hashlib.sha256(receipt_spki_der).digest(),
    )
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(4, "big") + part)
    return h.digest()


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt as signed by the worker. Digests are lowercase hex; ``time`` is Unix seconds."""

    v: int
    request_sha256: str
    response_sha256: str
    model: str
    model_digest: str
    redaction_policy_digest: str
    evidence_digest: str
    key_id: int
    time: int
    sig: str

    def signed_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _SIGNED_FIELDS}


_SIGNED_FIELDS = tuple(name for name in Receipt.__dataclass_fields__ if name != "sig")


def _signed_bytes(r: Receipt) -> bytes:
    """The canonical JSON of every field but ``sig``, written out in sorted key order.

    Equal to ``_canonical(r.signed_fields())`` for a receipt that passed :func:`_check` (digests are
    lowercase hex, so they need no escaping; integers are ints): every receipt is signed and
    verified on the request path, where json.dumps with sorted keys cost several times more.
    """
    return (
        f'{{"evidence_digest":"{r.evidence_digest}","key_id":{r.key_id},"model":{json.dumps(r.model)},'
        f'"model_digest":"{r.model_digest}","redaction_policy_digest":"{r.redaction_policy_digest}",'
        f'"request_sha256":"{r.request_sha256}","response_sha256":"{r.response_sha256}",'
        f'"time":{r.time},"v":{r.v}}}'
    ).encode("ascii")


class ReceiptSigner:
    """Holds the receipt key (Ed25519 or ES256) in memory. ``repr`` shows only the public key's
    fingerprint."""

    __slots__ = ("_key",)

    def __init__(self, key: ReceiptKey) -> None:
        self._key = key

    @classmethod
    def generate(cls, algorithm: str = ED25519) -> ReceiptSigner:
        """A signer with a fresh key of ``algorithm`` (``"Ed25519"`` or ``"ES256"``)."""
        return cls(ReceiptKey(algorithm))

    @property
    def algorithm(self) -> str:
        return self._key.algorithm

    @property
    def spki_der(self) -> bytes:
        return self._key.spki_der

    def __repr__(self) -> str:
        fingerprint = hashlib.sha256(self.spki_der).hexdigest()[:16]
        return f"<ReceiptSigner {self.algorithm} spki-sha256={fingerprint}>"

    def sign(
        self,
        *,
        request_sha256: str,
        response_sha256: str,
        model: str,
        model_digest: str,
        evidence_digest: str,
        key_id: int,
        redaction_policy_digest: str = EMPTY_POLICY_DIGEST,
        at: int | None = None,
    ) -> Receipt:
        unsigned = Receipt(
            v=1,
            request_sha256=request_sha256,
            response_sha256=response_sha256,
            model=model,
            model_digest=model_digest,
            redaction_policy_digest=redaction_policy_digest,
            evidence_digest=evidence_digest,
            key_id=key_id,
            time=int(time.time()) if at is None else at,
            sig="",
        )
        _check(unsigned)
        return dataclasses.replace(unsigned, sig=_b64url(self._key.sign(_signed_bytes(unsigned))))


_DIGEST_FIELDS = (
    "request_sha256",
    "response_sha256",
    "model_digest",
    "redaction_policy_digest",
    "evidence_digest",
)


def _check(r: Receipt) -> None:
    for name in _DIGEST_FIELDS:
        value = getattr(r, name)
        if not isinstance(value, str) or not _HEX64.match(value):
            raise FormatError("receipt.malformed", f"{name} must be 64 lowercase hex digits")
    if any(type(n) is not int for n in (r.v, r.key_id, r.time)) or not isinstance(r.model, str):
        raise FormatError("receipt.malformed", "version, key id and time must be integers, model a string")
    if r.v != 1 or not 0 <= r.key_id <= 255 or r.time < 0 or not r.model or len(r.model) > 256:
        raise FormatError("receipt.malformed", "version, key id, time or model out of range")


def encode_receipt(receipt: Receipt) -> str:
    """The header/trailer value: base64url of the canonical JSON including ``sig``."""
    _check(receipt)
    if not isinstance(receipt.sig, str) or not _B64URL.match(receipt.sig):
        raise FormatError("receipt.malformed", "sig must be base64url")
    signed = _signed_bytes(receipt)
    # ``sig`` sorts between ``response_sha256`` and ``time``: splice it in before ``"time"``.
    cut = signed.rindex(b',"time":')
    return _b64url(signed[:cut] + b',"sig":"' + receipt.sig.encode("ascii") + b'"' + signed[cut:])


def decode_receipt(text: str | bytes) -> Receipt:
    """Parse a header/trailer value. Raises ``FormatError("receipt.malformed")`` only."""
    raw = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    if len(raw) > _MAX_ENCODED:
        raise FormatError("receipt.malformed", f"receipt longer than {_MAX_ENCODED} characters")
    try:
        obj = json.loads(_unb64url(raw))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise FormatError("receipt.malformed", "receipt is not base64url JSON") from None
    expected = set(Receipt.__dataclass_fields__)
    if not isinstance(obj, dict) or set(obj) != expected:
        raise FormatError("receipt.malformed", f"receipt must have exactly the fields {sorted(expected)}")
    for name, value in obj.items():
        want_int = name in ("v", "key_id", "time")
        if want_int != (type(value) is int) or (not want_int and not isinstance(value, str)):
            raise FormatError("receipt.malformed", f"receipt field {name} has the wrong type")
    receipt = Receipt(**obj)
    _check(receipt)
    return receipt


def verify_receipt(receipt: Receipt, spki_der: bytes) -> None:
    """Raise ``VerificationError("receipt.signature_invalid")`` unless the receipt key signed it.

    A receipt whose fields are not well-formed (``_check``) cannot have been signed: it is refused
    the same way, so a hand-built receipt never reaches the signature check with odd field types.
    """
    verify = receipt_verifier(bytes(spki_der))
    try:
        _check(receipt)
        sig = _unb64url(receipt.sig)
    except (FormatError, binascii.Error, ValueError, TypeError):
        sig = b""
    if len(sig) != 64 or not verify(_signed_bytes(receipt), sig):
        raise VerificationError("receipt.signature_invalid", "receipt signature does not verify")


class RunningDigest:
    """SHA-256 over a response's content chunks, in order (streams: the receipt's response_sha256)."""

    __slots__ = ("_h",)

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()
