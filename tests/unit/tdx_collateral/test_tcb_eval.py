"""QVL-style TCB matching and convergence on hand-built TCB info."""

from __future__ import annotations

import json

import pytest

from attestgw.errors import VerificationError
from attestgw.evidence.tdx_collateral import SgxExtension, SgxType, TcbStatus, parse_tcb_info
from attestgw.verify.tdx import evaluate_tcb

from .test_parsers import SIG, TCB


def _info(module_status: str) -> object:
    doc = json.loads(json.dumps(TCB))
    doc["tdxModuleIdentities"] = [
        {
            "id": "TDX_01",
            "mrsigner": "00" * 48,
            "attributes": "00" * 8,
            "attributesMask": "FF" * 8,
            "tcbLevels": [
                {"tcb": {"isvsvn": 5}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"},
                {"tcb": {"isvsvn": 2}, "tcbDate": "2023-03-13T00:00:00Z", "tcbStatus": module_status},
            ],
        }
    ]
    return parse_tcb_info(json.dumps(doc).encode(), SIG).tcb_info


PCK = SgxExtension(
    b"\x01" * 16,
    (1,) * 16,
    11,
    b"\x00" * 16,
    b"\x00\x00",
    bytes.fromhex("00806f050000"),
    SgxType.SCALABLE,
    None,
    None,
)


def test_module_out_of_date_downgrades_platform() -> None:
    tee = bytes([3, 1]) + bytes([1] * 14)  # module ISVSVN 3 → second module level
    result = evaluate_tcb(_info("OutOfDate"), PCK, tee)  # type: ignore[arg-type]
    assert result.status is TcbStatus.OUT_OF_DATE
    revoked = evaluate_tcb(_info("Revoked"), PCK, tee)  # type: ignore[arg-type]
    assert revoked.status is TcbStatus.REVOKED
    current = evaluate_tcb(_info("OutOfDate"), PCK, bytes([5, 1]) + bytes([1] * 14))  # type: ignore[arg-type]
    assert current.status is TcbStatus.UP_TO_DATE


def test_low_component_and_missing_module_identity_are_refused() -> None:
    with pytest.raises(VerificationError) as err:
        evaluate_tcb(_info("OutOfDate"), PCK, bytes([5, 1, 0]) + bytes([1] * 13))  # type: ignore[arg-type]
    assert err.value.code == "tdx.tcb_level_unsupported"
    with pytest.raises(VerificationError) as err2:
        evaluate_tcb(_info("OutOfDate"), PCK, bytes([5, 2]) + bytes([1] * 14))  # type: ignore[arg-type]
    assert err2.value.code == "tdx.module_identity_mismatch"
