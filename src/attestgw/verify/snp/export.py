"""Verified SNP claims as plain JSON-ready data (byte strings as lowercase hex).

One rendering shared by the CLI, the EAR and (later) the client SDK, so every surface names the
same claims the same way.
"""

from __future__ import annotations

from typing import Any

from attestgw.encoding import to_hex
from attestgw.evidence.snp import AttestationReport
from attestgw.verify.snp.claims import VerifiedSnpClaims

__all__ = ["claims_to_json", "report_to_json"]


def report_to_json(report: AttestationReport) -> dict[str, Any]:
    """Every report field (unverified unless it came from verified claims)."""
    return {
        "version": report.version,
        "guest_svn": report.guest_svn,
        "policy": report.policy.as_dict(),
        "family_id": to_hex(report.family_id),
        "image_id": to_hex(report.image_id),
        "vmpl": report.vmpl,
        "platform_info": report.platform_info.as_dict(),
        "author_key_en": report.signer_info.author_key_en,
        "mask_chip_key": report.signer_info.mask_chip_key,
        "report_data": to_hex(report.report_data),
        "measurement": to_hex(report.measurement),
        "host_data": to_hex(report.host_data),
        "id_key_digest": to_hex(report.id_key_digest),
        "author_key_digest": to_hex(report.author_key_digest),
        "report_id": to_hex(report.report_id),
        "report_id_ma": to_hex(report.report_id_ma),
        "chip_id": to_hex(report.chip_id),
        "cpuid": (
            None
            if report.cpuid_fam_id is None
            else {
                "family": report.cpuid_fam_id,
                "model": report.cpuid_mod_id,
                "stepping": report.cpuid_step,
            }
        ),
        "firmware": {
            "current": f"{report.current_major}.{report.current_minor}.{report.current_build}",
            "committed": f"{report.committed_major}.{report.committed_minor}.{report.committed_build}",
        },
        "launch_mit_vector": report.launch_mit_vector,
        "current_mit_vector": report.current_mit_vector,
    }


def claims_to_json(claims: VerifiedSnpClaims) -> dict[str, Any]:
    """The verified claims: report fields, decoded TCBs, product, key kind and chain identity."""
    out = report_to_json(claims.report)
    out.update(
        {
            "product": claims.product.value,
            "product_name": claims.product_name,
            "signing_key": claims.signing_key.name.lower(),
            "csp_id": claims.csp_id,
            "reported_tcb": {"raw": claims.report.reported_tcb.hex(), **claims.reported_tcb.as_dict()},
            "current_tcb": {"raw": claims.report.current_tcb.hex(), **claims.current_tcb.as_dict()},
            "committed_tcb": {
                "raw": claims.report.committed_tcb.hex(),
                **claims.committed_tcb.as_dict(),
            },
            "launch_tcb": {"raw": claims.report.launch_tcb.hex(), **claims.launch_tcb.as_dict()},
            "chain": {
                "ark_sha256": claims.ark_sha256,
                "intermediate_sha256": claims.intermediate_sha256,
                "signing_cert_sha256": claims.signing_cert_sha256,
                "simulated_root": claims.simulated,
            },
            "crl_checked": claims.crl_checked,
            "crl_next_update": claims.crl_next_update.isoformat() if claims.crl_next_update else None,
            "verified_at": claims.verified_at.isoformat(),
            "collateral_fetched": list(claims.collateral_fetched),
        }
    )
    return out
