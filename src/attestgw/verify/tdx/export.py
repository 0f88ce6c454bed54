"""Verified TDX claims as plain JSON-ready data (byte strings as lowercase hex).

One rendering shared by the CLI, the EAR and the client SDK, so every surface names the same
claims the same way (the SEV-SNP counterpart is :mod:`attestgw.verify.snp.export`).
"""

from __future__ import annotations

from typing import Any

from attestgw.encoding import to_hex
from attestgw.evidence.tdx import Quote, TdQuoteBody
from attestgw.verify.tdx.claims import VerifiedTdxClaims

__all__ = ["body_to_json", "claims_to_json", "quote_to_json", "td_attributes_to_json"]

# TDATTRIBUTES bits (Intel TDX module ABI, formats.md §3.2).
_TD_ATTRIBUTE_BITS = {"debug": 0, "sept_ve_disable": 28, "pks": 30, "key_locker": 31, "perfmon": 63}


def td_attributes_to_json(value: int) -> dict[str, Any]:
    """TDATTRIBUTES decoded: the raw u64 as 16 hex digits and the named bits."""
    out: dict[str, Any] = {"raw": f"{value:016x}"}
    out.update({name: bool(value >> bit & 1) for name, bit in _TD_ATTRIBUTE_BITS.items()})
    return out


def body_to_json(body: TdQuoteBody) -> dict[str, Any]:
    """Every TD quote body field (unverified unless it came from verified claims)."""
    return {
        "tee_tcb_svn": to_hex(body.tee_tcb_svn),
        "tdx_module": {"isvsvn": body.tee_tcb_svn[0], "major_version": body.tee_tcb_svn[1]},
        "mrseam": to_hex(body.mr_seam),
        "mrsignerseam": to_hex(body.mr_signer_seam),
        "seam_attributes": f"{body.seam_attributes:016x}",
        "td_attributes": td_attributes_to_json(body.td_attributes),
        "xfam": f"{body.xfam:016x}",
        "mrtd": to_hex(body.mr_td),
        "mrconfigid": to_hex(body.mr_config_id),
        "mrowner": to_hex(body.mr_owner),
        "mrownerconfig": to_hex(body.mr_owner_config),
        "rtmrs": [to_hex(r) for r in body.rtmrs],
        "report_data": to_hex(body.report_data),
        "tee_tcb_svn2": to_hex(body.tee_tcb_svn2) if body.tee_tcb_svn2 is not None else None,
        "mrservicetd": to_hex(body.mr_service_td) if body.mr_service_td is not None else None,
    }


def quote_to_json(quote: Quote) -> dict[str, Any]:
    """Header facts and, for a TD quote, the body fields (unverified)."""
    out: dict[str, Any] = {
        "version": quote.version,
        "tee_type": "tdx" if quote.is_tdx else "sgx",
        "body_type": quote.body_type.name,
        "qe_vendor_id": to_hex(quote.header.qe_vendor_id),
    }
    body = quote.td_body
    if body is not None:
        out.update(body_to_json(body))
    return out


def claims_to_json(claims: VerifiedTdxClaims) -> dict[str, Any]:
    """The verified claims: quote body fields, TCB status and advisories, platform and chain."""
    out = quote_to_json(claims.quote)
    out.update(body_to_json(claims.body))
    out.update(
        {
            "tcb_status": claims.tcb_status.value,
            "advisory_ids": list(claims.advisory_ids),
            "tcb_date": claims.tcb_date.isoformat() if claims.tcb_date is not None else None,
            "qe_status": claims.qe_status.value,
            "fmspc": claims.fmspc,
            "pce_id": claims.pce_id,
            "tcb_evaluation_data_number": claims.tcb_evaluation_data_number,
            "chain": {
                "root_sha256": claims.root_sha256,
                "pck_sha256": claims.pck_sha256,
                "simulated_root": claims.simulated,
            },
            "collateral_valid_until": claims.collateral_valid_until.isoformat(),
            "verified_at": claims.verified_at.isoformat(),
        }
    )
    return out
