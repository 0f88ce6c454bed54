"""Intel PCS TCB info: TDX v3 and SGX v2/v3 (formats.md §3.6), parsed into frozen dataclasses.

Two entry points: :func:`parse_tcb_info` takes the raw ``tcbInfo`` JSON value and its hex
signature as a collateral bundle carries them; :func:`parse_tcb_info_response` takes a PCS
response body ``{"tcbInfo": {...}, "signature": "..."}`` and extracts the raw ``tcbInfo`` bytes
without re-serializing. Either way :attr:`SignedTcbInfo.raw` is exactly what Intel signed.

Checked: JSON syntax (no duplicate keys), ``id`` ∈ {TDX, SGX} (absent in SGX v2); TDX needs
version 3, SGX 2 or 3;
field types and sizes (FMSPC 6 bytes, PCE-ID 2, mrsigner 48, attributes 8, 16 SGX and — for TDX
— 16 TDX component SVNs per level, signature 64 bytes); known TCB status strings; issueDate not
after nextUpdate. Not checked: the signature, freshness, ordering of ``tcbLevels`` (Intel sorts
them descending and the matcher relies on the order it is given, as QVL does), or whether it
matches any platform — that is ``attestgw.verify.tdx``.
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

__all__ = [
    "ModuleTcbLevel",
    "SignedTcbInfo",
    "TcbInfo",
    "TcbLevel",
    "TdxModule",
    "TdxModuleIdentity",
    "parse_signature",
    "parse_tcb_info",
    "parse_tcb_info_response",
]

_CODE = "tdx.collateral_malformed"


@dataclass(frozen=True, slots=True)
class TcbLevel:
    """One platform TCB level. ``tdx_components`` is None for SGX TCB info."""

    sgx_components: tuple[int, ...]
    pcesvn: int
    tdx_components: tuple[int, ...] | None
    tcb_date: datetime
    tcb_status: TcbStatus
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TdxModule:
    """The TDX SEAM module signer and attributes (``tdxModule``; also each module identity)."""

    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes


@dataclass(frozen=True, slots=True)
class ModuleTcbLevel:
    isvsvn: int
    tcb_date: datetime
    tcb_status: TcbStatus


@dataclass(frozen=True, slots=True)
class TdxModuleIdentity:
    """An entry of ``tdxModuleIdentities``; ``id`` is e.g. ``TDX_01`` (module major version)."""

    id: str
    module: TdxModule
    tcb_levels: tuple[ModuleTcbLevel, ...]


@dataclass(frozen=True, slots=True)
class TcbInfo:
    id: str
    version: int
    issue_date: datetime
    next_update: datetime
    fmspc: bytes
    pce_id: bytes
    tcb_type: int
    tcb_evaluation_data_number: int
    tdx_module: TdxModule | None
    tdx_module_identities: tuple[TdxModuleIdentity, ...]
    tcb_levels: tuple[TcbLevel, ...]


@dataclass(frozen=True, slots=True)
class SignedTcbInfo:
    """The parsed TCB info, the exact signed bytes, and the raw 64-byte ``r‖s`` signature."""

    tcb_info: TcbInfo
    raw: bytes
    signature: bytes


def parse_signature(text: Any, what: str = "signature") -> bytes:
    """A 64-byte P-256 ``r‖s`` signature from hex text. Raises FormatError."""
    try:
        return hex_bytes(text, what, 64)
    except ValueError as exc:
        raise FormatError(_CODE, str(exc)) from None


def _components(value: Any, what: str) -> tuple[int, ...]:
    items = as_list(value, what, 16)
    if len(items) != 16:
        raise ValueError(f"{what}: want 16 components, got {len(items)}")
    return tuple(as_int(as_obj(c, what).get("svn"), f"{what}.svn", 255) for c in items)


def _level(value: Any, tdx: bool, version: int, i: int) -> TcbLevel:
    what = f"tcbLevels[{i}]"
    level = as_obj(value, what)
    tcb = as_obj(level.get("tcb"), f"{what}.tcb")
    if version >= 3:
        sgx = _components(tcb.get("sgxtcbcomponents"), f"{what}.tcb.sgxtcbcomponents")
    else:  # v2: sgxtcbcomp01svn .. sgxtcbcomp16svn
        sgx = tuple(
            as_int(tcb.get(f"sgxtcbcomp{n:02d}svn"), f"{what}.tcb.sgxtcbcomp{n:02d}svn", 255)
            for n in range(1, 17)
        )
    tdx_comps = _components(tcb.get("tdxtcbcomponents"), f"{what}.tcb.tdxtcbcomponents") if tdx else None
    advisories = as_list(level.get("advisoryIDs", []), f"{what}.advisoryIDs")
    return TcbLevel(
        sgx_components=sgx,
        pcesvn=as_int(tcb.get("pcesvn"), f"{what}.tcb.pcesvn", 0xFFFF),
        tdx_components=tdx_comps,
        tcb_date=instant(level.get("tcbDate"), f"{what}.tcbDate"),
        tcb_status=status(level.get("tcbStatus"), f"{what}.tcbStatus"),
        advisory_ids=tuple(as_str(a, f"{what}.advisoryIDs") for a in advisories),
    )


def _module(value: Any, what: str) -> TdxModule:
    obj = as_obj(value, what)
    return TdxModule(
        mrsigner=hex_bytes(obj.get("mrsigner"), f"{what}.mrsigner", 48),
        attributes=hex_bytes(obj.get("attributes"), f"{what}.attributes", 8),
        attributes_mask=hex_bytes(obj.get("attributesMask"), f"{what}.attributesMask", 8),
    )


def _identity(value: Any, i: int) -> TdxModuleIdentity:
    what = f"tdxModuleIdentities[{i}]"
    obj = as_obj(value, what)
    levels = []
    for j, raw in enumerate(as_list(obj.get("tcbLevels"), f"{what}.tcbLevels")):
        lv = as_obj(raw, f"{what}.tcbLevels[{j}]")
        levels.append(
            ModuleTcbLevel(
                isvsvn=as_int(as_obj(lv.get("tcb"), "tcb").get("isvsvn"), f"{what}.isvsvn", 255),
                tcb_date=instant(lv.get("tcbDate"), f"{what}.tcbDate"),
                tcb_status=status(lv.get("tcbStatus"), f"{what}.tcbStatus"),
            )
        )
    return TdxModuleIdentity(as_str(obj.get("id"), f"{what}.id"), _module(obj, what), tuple(levels))


def _tcb_info(obj: dict[str, Any]) -> TcbInfo:
    version = as_int(obj.get("version"), "version")
    # SGX TCB info v2 predates the ``id`` member; it can only be SGX.
    kind = as_str(obj.get("id", "SGX" if version == 2 else None), "id")
    if (kind, version) not in {("TDX", 3), ("SGX", 2), ("SGX", 3)}:
        raise ValueError(f"id/version {kind!r}/{version}; want TDX/3, SGX/2 or SGX/3")
    tdx = kind == "TDX"
    issue = instant(obj.get("issueDate"), "issueDate")
    next_update = instant(obj.get("nextUpdate"), "nextUpdate")
    if next_update < issue:
        raise ValueError("nextUpdate is before issueDate")
    levels = as_list(obj.get("tcbLevels"), "tcbLevels")
    if not levels:
        raise ValueError("tcbLevels is empty")
    identities = as_list(obj.get("tdxModuleIdentities", []), "tdxModuleIdentities") if tdx else []
    return TcbInfo(
        id=kind,
        version=version,
        issue_date=issue,
        next_update=next_update,
        fmspc=hex_bytes(obj.get("fmspc"), "fmspc", 6),
        pce_id=hex_bytes(obj.get("pceId"), "pceId", 2),
        tcb_type=as_int(obj.get("tcbType", 0), "tcbType"),
        tcb_evaluation_data_number=as_int(obj.get("tcbEvaluationDataNumber"), "tcbEvaluationDataNumber"),
        tdx_module=_module(obj.get("tdxModule"), "tdxModule") if tdx else None,
        tdx_module_identities=tuple(_identity(v, i) for i, v in enumerate(identities)),
        tcb_levels=tuple(_level(v, tdx, version, i) for i, v in enumerate(levels)),
    )


def parse_tcb_info(raw: bytes, signature_hex: str) -> SignedTcbInfo:
    """Parse the raw ``tcbInfo`` JSON value and its hex signature. Raises FormatError."""
    raw = bytes(raw)
    signature = parse_signature(signature_hex, "tcb_info_signature")
    try:
        info = _tcb_info(_json_raw.load_object(raw))
    except (ValueError, RecursionError) as exc:
        raise FormatError(_CODE, f"TCB info: {exc}") from None
    return SignedTcbInfo(info, raw, signature)


def parse_tcb_info_response(body: bytes) -> SignedTcbInfo:
    """Parse a PCS ``/tcb`` response body; the signed bytes are cut out verbatim."""
    try:
        raw, signature = _json_raw.split_signed_response(body, "tcbInfo")
    except (ValueError, RecursionError) as exc:
        raise FormatError(_CODE, f"TCB info response: {exc}") from None
    return parse_tcb_info(raw, signature)
