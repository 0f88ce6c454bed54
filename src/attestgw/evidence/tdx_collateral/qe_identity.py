"""Intel PCS enclave identity v2 for the TDX quoting enclave (``TD_QE``) and SGX QE (``QE``).

Shaped like :mod:`.tcb_info`: :func:`parse_qe_identity` takes the raw ``enclaveIdentity`` JSON
value plus its hex signature; :func:`parse_qe_identity_response` takes a PCS response body
``{"enclaveIdentity": {...}, "signature": "..."}`` and cuts the signed bytes out verbatim.

Checked: JSON syntax, ``id`` ∈ {TD_QE, QE} (QVE and others are refused), version 2, sizes
(miscselect and its mask 4 bytes, attributes and mask 16, mrsigner 32, signature 64), known TCB
statuses. Not checked: the signature, freshness, or any QE report — see
``attestgw.verify.tdx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from attestgw.errors import FormatError
from attestgw.evidence.tdx_collateral import _json_raw
from attestgw.evidence.tdx_collateral._fields import (
    TcbStatus,
    as_int,
    as_list,
    as_obj,
    as_str,
    hex_bytes,
    instant,
    status,
)
from attestgw.evidence.tdx_collateral.tcb_info import parse_signature

__all__ = ["QeIdentity", "QeTcbLevel", "SignedQeIdentity", "parse_qe_identity", "parse_qe_identity_response"]

_CODE = "tdx.collateral_malformed"


@dataclass(frozen=True, slots=True)
class QeTcbLevel:
    isvsvn: int
    tcb_date: datetime
    tcb_status: TcbStatus
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QeIdentity:
    id: str
    version: int
    issue_date: datetime
    next_update: datetime
    tcb_evaluation_data_number: int
    miscselect: bytes
    miscselect_mask: bytes
    attributes: bytes
    attributes_mask: bytes
    mrsigner: bytes
    isvprodid: int
    tcb_levels: tuple[QeTcbLevel, ...]


@dataclass(frozen=True, slots=True)
class SignedQeIdentity:
    """The parsed identity, the exact signed bytes, and the raw 64-byte ``r‖s`` signature."""

    qe_identity: QeIdentity
    raw: bytes
    signature: bytes


def _level(value: Any, i: int) -> QeTcbLevel:
    what = f"tcbLevels[{i}]"
    obj = as_obj(value, what)
    advisories = as_list(obj.get("advisoryIDs", []), f"{what}.advisoryIDs")
    return QeTcbLevel(
        isvsvn=as_int(as_obj(obj.get("tcb"), f"{what}.tcb").get("isvsvn"), f"{what}.isvsvn", 0xFFFF),
        tcb_date=instant(obj.get("tcbDate"), f"{what}.tcbDate"),
        tcb_status=status(obj.get("tcbStatus"), f"{what}.tcbStatus"),
        advisory_ids=tuple(as_str(a, f"{what}.advisoryIDs") for a in advisories),
    )


def _identity(obj: dict[str, Any]) -> QeIdentity:
    kind = as_str(obj.get("id"), "id")
    version = as_int(obj.get("version"), "version")
    if kind not in {"TD_QE", "QE"} or version != 2:
        raise ValueError(f"id/version {kind!r}/{version}; want TD_QE/2 or QE/2")
    issue = instant(obj.get("issueDate"), "issueDate")
    next_update = instant(obj.get("nextUpdate"), "nextUpdate")
    if next_update < issue:
        raise ValueError("nextUpdate is before issueDate")
    levels = as_list(obj.get("tcbLevels"), "tcbLevels")
    if not levels:
        raise ValueError("tcbLevels is empty")
    return QeIdentity(
        id=kind,
        version=version,
        issue_date=issue,
        next_update=next_update,
        tcb_evaluation_data_number=as_int(obj.get("tcbEvaluationDataNumber"), "tcbEvaluationDataNumber"),
        miscselect=hex_bytes(obj.get("miscselect"), "miscselect", 4),
        miscselect_mask=hex_bytes(obj.get("miscselectMask"), "miscselectMask", 4),
        attributes=hex_bytes(obj.get("attributes"), "attributes", 16),
        attributes_mask=hex_bytes(obj.get("attributesMask"), "attributesMask", 16),
        mrsigner=hex_bytes(obj.get("mrsigner"), "mrsigner", 32),
        isvprodid=as_int(obj.get("isvprodid"), "isvprodid", 0xFFFF),
        tcb_levels=tuple(_level(v, i) for i, v in enumerate(levels)),
    )


def parse_qe_identity(raw: bytes, signature_hex: str) -> SignedQeIdentity:
    """Parse the raw ``enclaveIdentity`` JSON value and its hex signature. Raises FormatError."""
    raw = bytes(raw)
    signature = parse_signature(signature_hex, "qe_identity_signature")
    try:
        identity = _identity(_json_raw.load_object(raw))
    except (ValueError, RecursionError) as exc:
        raise FormatError(_CODE, f"QE identity: {exc}") from None
    return SignedQeIdentity(identity, raw, signature)


def parse_qe_identity_response(body: bytes) -> SignedQeIdentity:
    """Parse a PCS ``/qe/identity`` response body; the signed bytes are cut out verbatim."""
    try:
        raw, signature = _json_raw.split_signed_response(body, "enclaveIdentity")
    except (ValueError, RecursionError) as exc:
        raise FormatError(_CODE, f"QE identity response: {exc}") from None
    return parse_qe_identity(raw, signature)
