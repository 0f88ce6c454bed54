"""Simulated Intel PCS collateral documents: TDX TCB info v3 and TD_QE identity v2 JSON.

The documents have the members, spelling and compact form of Intel's (formats.md §3.6; compare
``../shared/corpus/tdx/dcap-qvl/tdx_quote_collateral.json``): no whitespace, upper-case hex, RFC 3339
instants ending in ``Z``, ``tcbLevels`` in the order given (Intel sorts them descending; so must the
caller). They are returned as bytes because the signature covers exactly those bytes. Signing and
bundling is :class:`~attestgw.attester.simulated_intel.SimulatedIntelAuthority`'s job.

Not checked: that the levels are sorted, that statuses are consistent, or anything a verifier
checks — a simulated document may say whatever a negative test needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from attestgw.evidence.tdx_collateral import TcbStatus

__all__ = [
    "ModuleLevelSpec",
    "PlatformLevelSpec",
    "QeLevelSpec",
    "instant",
    "qe_identity_json",
    "tcb_info_json",
]

# Intel's TDX TCB info names the first components; the rest are bare SVNs (as in the real file).
_SGX_NAMES: dict[int, dict[str, str]] = {
    0: {"category": "BIOS", "type": "Early Microcode Update"},
    1: {"category": "OS/VMM", "type": "SGX Late Microcode Update"},
    2: {"category": "OS/VMM", "type": "TXT SINIT"},
    7: {"category": "OS/VMM", "type": "SEAMLDR ACM"},
}
_TDX_NAMES: dict[int, dict[str, str]] = {
    0: {"category": "OS/VMM", "type": "TDX Module"},
    1: {"category": "OS/VMM", "type": "TDX Module"},
    2: {"category": "OS/VMM", "type": "TDX Late Microcode Update"},
}


@dataclass(frozen=True, slots=True)
class PlatformLevelSpec:
    """One platform TCB level: 16 SGX SVNs, PCESVN, 16 TDX SVNs, date, status, advisories."""

    sgx_components: tuple[int, ...]
    pcesvn: int
    tdx_components: tuple[int, ...]
    tcb_date: datetime
    status: TcbStatus
    advisory_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ModuleLevelSpec:
    """A TDX module (or QE) TCB level: minimum ISVSVN, date, status."""

    isvsvn: int
    tcb_date: datetime
    status: TcbStatus


QeLevelSpec = ModuleLevelSpec


def instant(when: datetime) -> str:
    """Intel's RFC 3339 form: UTC, whole seconds, literal ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(data: bytes) -> str:
    return data.hex().upper()


def _components(svns: Sequence[int], names: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    if len(svns) != 16:
        raise ValueError(f"want 16 TCB component SVNs, got {len(svns)}")
    return [{"svn": svn, **names.get(i, {})} for i, svn in enumerate(svns)]


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def _module_levels(levels: Sequence[ModuleLevelSpec]) -> list[dict[str, Any]]:
    return [
        {"tcb": {"isvsvn": lv.isvsvn}, "tcbDate": instant(lv.tcb_date), "tcbStatus": lv.status.value}
        for lv in levels
    ]


def tcb_info_json(
    *,
    fmspc: bytes,
    pce_id: bytes,
    issue_date: datetime,
    next_update: datetime,
    evaluation_number: int,
    module_mrsigner: bytes,
    module_identities: Sequence[tuple[int, Sequence[ModuleLevelSpec]]],
    levels: Sequence[PlatformLevelSpec],
) -> bytes:
    """A TDX TCB info v3 ``tcbInfo`` value. ``module_identities``: ``(major version, levels)``
    pairs, written as ``TDX_%02X`` entries signed by ``module_mrsigner`` with zero attributes."""
    module = {"mrsigner": _hex(module_mrsigner), "attributes": "00" * 8, "attributesMask": "FF" * 8}
    platform: list[dict[str, Any]] = []
    for lv in levels:
        entry: dict[str, Any] = {
            "tcb": {
                "sgxtcbcomponents": _components(lv.sgx_components, _SGX_NAMES),
                "pcesvn": lv.pcesvn,
                "tdxtcbcomponents": _components(lv.tdx_components, _TDX_NAMES),
            },
            "tcbDate": instant(lv.tcb_date),
            "tcbStatus": lv.status.value,
        }
        if lv.advisory_ids:
            entry["advisoryIDs"] = list(lv.advisory_ids)
        platform.append(entry)
    return _dump(
        {
            "id": "TDX",
            "version": 3,
            "issueDate": instant(issue_date),
            "nextUpdate": instant(next_update),
            "fmspc": _hex(fmspc),
            "pceId": _hex(pce_id),
            "tcbType": 0,
            "tcbEvaluationDataNumber": evaluation_number,
            "tdxModule": module,
            "tdxModuleIdentities": [
                {"id": f"TDX_{major:02X}", **module, "tcbLevels": _module_levels(mlevels)}
                for major, mlevels in module_identities
            ],
            "tcbLevels": platform,
        }
    )


def qe_identity_json(
    *,
    issue_date: datetime,
    next_update: datetime,
    evaluation_number: int,
    miscselect: int,
    miscselect_mask: int,
    attributes: bytes,
    attributes_mask: bytes,
    mrsigner: bytes,
    isvprodid: int,
    levels: Sequence[QeLevelSpec],
) -> bytes:
    """A ``TD_QE`` enclave identity v2 ``enclaveIdentity`` value (MISCSELECT as Intel's big-endian hex)."""
    return _dump(
        {
            "id": "TD_QE",
            "version": 2,
            "issueDate": instant(issue_date),
            "nextUpdate": instant(next_update),
            "tcbEvaluationDataNumber": evaluation_number,
            "miscselect": f"{miscselect:08X}",
            "miscselectMask": f"{miscselect_mask:08X}",
            "attributes": _hex(attributes),
            "attributesMask": _hex(attributes_mask),
            "mrsigner": _hex(mrsigner),
            "isvprodid": isvprodid,
            "tcbLevels": _module_levels(levels),
        }
    )
