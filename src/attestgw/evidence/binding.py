"""The attestation binding: REPORT_DATA and the GPU SPDM nonce from one domain-separated encoding.

The attester (building evidence) and the verifier (checking it) both call these functions, so the two
sides cannot drift. Layer L1: ``hashlib`` only (plus :func:`hmac.compare_digest` for the constant-time
comparison), no crypto library, no I/O. The formula is documented in ``docs/binding.md``::

    field(x)       = I2OSP(len(x), 4) ‖ x
    encode(l, ...) = field(l) ‖ field(x1) ‖ field(x2) ‖ ...
    K  = SHA-256(application/ohttp-keys body the worker serves)      32 bytes
    R  = SHA-256(receipt-signing public key, SubjectPublicKeyInfo DER) 32 bytes
    n  = the verifier's nonce                                         32 bytes
    G  = gpu_evidence_digest(evidence of each GPU, in device order)   32 bytes, or absent
    gpu_nonce   = SHA-256(encode("attestgw/gpu-nonce/v1", n, K, R))               32 bytes
    report_data = SHA-512(encode("attestgw/report-data/v1", n, K, R, G or b""))   64 bytes
    gpu_evidence_digest(e1..ek) = SHA-256(encode("attestgw/gpu-evidence/v1", I2OSP(k, 4), e1, ..., ek))

Every input has a fixed length that is checked (``FormatError("binding.invalid_input")``): nothing is
padded or truncated. "No GPU" is an empty G field, which the length prefix distinguishes from any
digest. The GPU nonce leaves out G because the GPU evidence is produced *with* that nonce.

Not checked here: that the nonce is fresh and single-use (the verifier's nonce store), that the key
configuration is the one the client will encrypt to (the client hashes the bytes it received), or
anything about the evidence itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from attestgw.errors import FormatError

__all__ = [
    "DIGEST_SIZE",
    "GPU_NONCE_SIZE",
    "NONCE_SIZE",
    "REPORT_DATA_SIZE",
    "BindingInputs",
    "gpu_evidence_digest",
    "gpu_nonce",
    "report_data",
    "report_data_matches",
]

NONCE_SIZE = 32
DIGEST_SIZE = 32
REPORT_DATA_SIZE = 64
GPU_NONCE_SIZE = 32

_LABEL_REPORT_DATA = b"attestgw/report-data/v1"
_LABEL_GPU_NONCE = b"attestgw/gpu-nonce/v1"
_LABEL_GPU_EVIDENCE = b"attestgw/gpu-evidence/v1"
_MAX_FIELD = 0xFFFFFFFF


def _encode(label: bytes, *fields: bytes) -> bytes:
    """The one preimage encoding: each of label and fields as a 4-byte big-endian length ‖ bytes."""
    out = bytearray()
    for item in (label, *fields):
        if len(item) > _MAX_FIELD:
            raise FormatError("binding.invalid_input", f"a binding field of {len(item)} bytes is too long")
        out += len(item).to_bytes(4, "big") + item
    return bytes(out)


def _require(name: str, value: bytes, size: int) -> bytes:
    if len(value) != size:
        raise FormatError("binding.invalid_input", f"{name}: got {len(value)} bytes, want {size}")
    return value


@dataclass(frozen=True, slots=True)
class BindingInputs:
    """What the binding commits to. Construct directly from digests, or with :meth:`from_material`."""

    nonce: bytes
    key_config_digest: bytes
    receipt_key_digest: bytes
    gpu_evidence_digest: bytes | None = None

    def __post_init__(self) -> None:
        _require("nonce", self.nonce, NONCE_SIZE)
        _require("key_config_digest", self.key_config_digest, DIGEST_SIZE)
        _require("receipt_key_digest", self.receipt_key_digest, DIGEST_SIZE)
        if self.gpu_evidence_digest is not None:
            _require("gpu_evidence_digest", self.gpu_evidence_digest, DIGEST_SIZE)

    @classmethod
    def from_material(
        cls,
        nonce: bytes,
        key_configs: bytes,
        receipt_public_key_spki: bytes,
        gpu_evidence: Sequence[bytes] | None = None,
    ) -> BindingInputs:
        """Digest the raw material: the ``application/ohttp-keys`` body, the receipt key's SPKI DER, and
        the GPU evidence blobs in device order (``None`` when there is no GPU; an empty list is refused).
        """
        if not key_configs or not receipt_public_key_spki:
            raise FormatError("binding.invalid_input", "key configs and receipt key must not be empty")
        return cls(
            nonce=nonce,
            key_config_digest=hashlib.sha256(key_configs).digest(),
            receipt_key_digest=hashlib.sha256(receipt_public_key_spki).digest(),
            gpu_evidence_digest=None if gpu_evidence is None else gpu_evidence_digest(gpu_evidence),
        )


def gpu_evidence_digest(evidence: Sequence[bytes]) -> bytes:
    """G: SHA-256 over the count and each device's evidence, length-prefixed, in device order."""
    if not evidence:
        raise FormatError("binding.invalid_input", "GPU evidence list is empty; pass None for no GPU")
    if any(not blob for blob in evidence):
        raise FormatError("binding.invalid_input", "a GPU evidence blob is empty")
    count = len(evidence).to_bytes(4, "big")
    return hashlib.sha256(_encode(_LABEL_GPU_EVIDENCE, count, *evidence)).digest()


def gpu_nonce(inputs: BindingInputs) -> bytes:
    """The 32-byte nonce for each GPU's SPDM GET_MEASUREMENTS request (G is not an input)."""
    preimage = _encode(_LABEL_GPU_NONCE, inputs.nonce, inputs.key_config_digest, inputs.receipt_key_digest)
    return hashlib.sha256(preimage).digest()


def report_data(inputs: BindingInputs) -> bytes:
    """The 64 bytes for SNP REPORT_DATA / TDX REPORTDATA."""
    preimage = _encode(
        _LABEL_REPORT_DATA,
        inputs.nonce,
        inputs.key_config_digest,
        inputs.receipt_key_digest,
        inputs.gpu_evidence_digest or b"",
    )
    return hashlib.sha512(preimage).digest()


def report_data_matches(actual: bytes, inputs: BindingInputs) -> bool:
    """Whether ``actual`` (64 bytes from verified evidence) is the binding of ``inputs``; constant time."""
    return hmac.compare_digest(bytes(actual), report_data(inputs))
