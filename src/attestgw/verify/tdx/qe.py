"""QE identity matching (QVL ``EnclaveIdentityV2`` checks; formats.md §3.7 step 4).

:func:`evaluate_qe_identity` compares a QE report's fields with a (verified) QE identity:

1. MRSIGNER equal (constant-time) and ISVPRODID equal; MISCSELECT masked with ``miscselectMask``
   equals ``miscselect`` and ATTRIBUTES masked with ``attributesMask`` equals ``attributes``
   (``tdx.qe_identity_mismatch``). MISCSELECT is the report's u32 (little-endian in the report),
   compared with Intel's big-endian hex as a number, as QVL does; ATTRIBUTES compare bytewise.
2. The QE TCB status is the first ``tcbLevels`` entry with ``isvsvn ≤`` the report's ISVSVN; none →
   ``OutOfDate`` with no level (QVL's ``SGX_ENCLAVE_REPORT_ISVSVN_OUT_OF_DATE``).

Not checked: the QE report signature (needs the PCK key) or the identity's own signature/freshness.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from attestgw.errors import VerificationError
from attestgw.evidence.tdx_collateral import QeIdentity, QeTcbLevel, TcbStatus

__all__ = ["QeEvaluation", "evaluate_qe_identity"]

_CODE = "tdx.qe_identity_mismatch"


@dataclass(frozen=True, slots=True)
class QeEvaluation:
    status: TcbStatus
    advisory_ids: tuple[str, ...]
    tcb_date: datetime | None
    level: QeTcbLevel | None


def evaluate_qe_identity(
    qe_identity: QeIdentity,
    *,
    mrsigner: bytes,
    isvprodid: int,
    isvsvn: int,
    miscselect: int,
    attributes: bytes,
) -> QeEvaluation:
    """Match QE report fields against ``qe_identity``; see the module docstring."""
    if len(mrsigner) != 32 or not hmac.compare_digest(mrsigner, qe_identity.mrsigner):
        raise VerificationError(_CODE, f"MRSIGNER got {mrsigner.hex()}, want {qe_identity.mrsigner.hex()}")
    if isvprodid != qe_identity.isvprodid:
        raise VerificationError(_CODE, f"ISVPRODID got {isvprodid}, want {qe_identity.isvprodid}")
    mask = int.from_bytes(qe_identity.miscselect_mask, "big")
    want = int.from_bytes(qe_identity.miscselect, "big")
    if miscselect & mask != want:
        raise VerificationError(_CODE, f"MISCSELECT got {miscselect:08x} (mask {mask:08x}), want {want:08x}")
    masked = bytes(a & m for a, m in zip(attributes, qe_identity.attributes_mask, strict=False))
    if len(attributes) != 16 or masked != qe_identity.attributes:
        raise VerificationError(
            _CODE,
            f"ATTRIBUTES got {attributes.hex()} (masked {masked.hex()}), want {qe_identity.attributes.hex()}",
        )
    for level in qe_identity.tcb_levels:
        if level.isvsvn <= isvsvn:
            return QeEvaluation(level.tcb_status, level.advisory_ids, level.tcb_date, level)
    return QeEvaluation(TcbStatus.OUT_OF_DATE, (), None, None)
