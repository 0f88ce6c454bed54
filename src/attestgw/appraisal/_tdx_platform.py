"""TDX rules on the platform (AR4SI *hardware*) and the TD's attributes (*configuration*).

Hardware: the trust root (97 when simulated and not trusted), the TCB status Intel's collateral
gives (UpToDate 2; SWHardeningNeeded / ConfigurationNeeded / ConfigurationAndSWHardeningNeeded 32
when the policy lists them; anything not listed 96 — OutOfDate* can never be listed), the advisory
ids of a non-UpToDate status, TEE_TCB_SVN component-wise, and the TDX module identity
(MRSEAM / MRSIGNERSEAM: the module is platform firmware, like SNP firmware).

Configuration: TDATTRIBUTES DEBUG (bit 0; also lowers *runtime-opaque*, as on SNP), SEPT_VE_DISABLE
(bit 28), the allowed-attributes mask, XFAM, and the host-chosen MRCONFIGID / MROWNER /
MROWNERCONFIG. Not checked here: SEAMATTRIBUTES and the module's signer against TCB info (that is
verification, formats.md §3.8 step 5).
"""

from __future__ import annotations

from attestgw.appraisal._ledger import CONTRAINDICATED, UNRECOGNIZED, WARNING, Ledger
from attestgw.appraisal._tdx_match import member, one_of
from attestgw.appraisal.policy_tdx import TDATTR_DEBUG, TdxPolicy
from attestgw.evidence.tdx_collateral import TcbStatus
from attestgw.verify.tdx.claims import VerifiedTdxClaims

__all__ = ["configuration_rules", "hardware_rules"]


def hardware_rules(led: Ledger, claims: VerifiedTdxClaims, policy: TdxPolicy) -> None:
    if claims.simulated and claims.root_sha256.lower() not in policy.trust_simulated_roots:
        led.fail(
            "trust_simulated_roots",
            "policy.simulated_root",
            f"simulated Intel root sha256 {claims.root_sha256.lower()}",
            "the pinned Intel SGX Root CA, or a simulated root listed in trust_simulated_roots",
            hardware=UNRECOGNIZED,
        )
    else:
        led.passed("hardware")
    _tcb_status(led, claims, policy)
    body = claims.body
    if policy.minimum_tee_tcb_svn is None:
        led.skip("minimum_tee_tcb_svn")
    elif all(have >= want for have, want in zip(body.tee_tcb_svn, policy.minimum_tee_tcb_svn, strict=True)):
        led.passed("hardware")
    else:
        low = [
            str(i)
            for i, (have, want) in enumerate(zip(body.tee_tcb_svn, policy.minimum_tee_tcb_svn, strict=True))
            if have < want
        ]
        led.fail(
            "minimum_tee_tcb_svn",
            "policy.tee_tcb_svn_below_minimum",
            f"{body.tee_tcb_svn.hex()} (component(s) {', '.join(low)} lower)",
            f">= {policy.minimum_tee_tcb_svn.hex()} component-wise",
            hardware=CONTRAINDICATED,
        )
    pinned = (
        ("mrseams", "policy.mrseam_mismatch", body.mr_seam, policy.mrseams),
        ("mrsignerseams", "policy.mrsignerseam_mismatch", body.mr_signer_seam, policy.mrsignerseams),
    )
    for rule, code, value, allowed in pinned:
        if allowed is None:
            led.skip(rule)
        elif member(value, allowed):
            led.passed("hardware")
        else:
            led.fail(rule, code, value.hex(), one_of(allowed), hardware=CONTRAINDICATED)


def _tcb_status(led: Ledger, claims: VerifiedTdxClaims, policy: TdxPolicy) -> None:
    status = claims.tcb_status
    allowed = ", ".join(s.value for s in policy.allowed_tcb_statuses)
    if status not in policy.allowed_tcb_statuses:
        led.fail(
            "allowed_tcb_statuses",
            "policy.tcb_status_not_allowed",
            f"{status.value} (advisories: {', '.join(claims.advisory_ids) or 'none'})",
            f"one of [{allowed}]",
            hardware=CONTRAINDICATED,
        )
        return
    if status is TcbStatus.UP_TO_DATE:
        led.passed("hardware")
        return
    # an allowed non-UpToDate status: known weaknesses, so a warning at best, and only if every
    # advisory behind it was reviewed and listed
    unlisted = [a for a in claims.advisory_ids if a.upper() not in policy.allowed_advisory_ids]
    if unlisted:
        led.fail(
            "allowed_advisory_ids",
            "policy.advisory_not_allowed",
            f"{status.value} with unlisted advisories {', '.join(unlisted)}",
            "every advisory listed in allowed_advisory_ids: [" + ", ".join(policy.allowed_advisory_ids) + "]",
            hardware=CONTRAINDICATED,
        )
        return
    led.warn(
        "allowed_tcb_statuses",
        "policy.tcb_status_warning",
        f"{status.value} (advisories: {', '.join(claims.advisory_ids) or 'none'})",
        "UpToDate (accepted here only because the policy lists this status)",
        hardware=WARNING,
    )


def configuration_rules(led: Ledger, claims: VerifiedTdxClaims, policy: TdxPolicy) -> None:
    body = claims.body
    attributes = body.td_attributes
    if not body.debug:
        led.passed("configuration", "runtime_opaque")
    elif policy.allow_debug:
        led.warn(
            "allow_debug",
            "policy.debug_allowed",
            "TDATTRIBUTES.DEBUG (bit 0) is set",
            "debug off (accepted here only because allow_debug = true)",
            configuration=WARNING,
            runtime_opaque=WARNING,
        )
    else:
        led.fail(
            "allow_debug",
            "policy.debug_allowed",
            "TDATTRIBUTES.DEBUG (bit 0) is set: the host can read and write TD state",
            "debug off",
            configuration=CONTRAINDICATED,
            runtime_opaque=CONTRAINDICATED,
        )
    if not policy.require_sept_ve_disable:
        led.skip("require_sept_ve_disable")
    elif body.sept_ve_disable:
        led.passed("configuration")
    else:
        led.fail(
            "require_sept_ve_disable",
            "policy.sept_ve_disable_required",
            f"TDATTRIBUTES {attributes:016x}: SEPT_VE_DISABLE (bit 28) clear",
            "SEPT_VE_DISABLE set (the guest cannot be made to take #VE on EPT violations)",
            configuration=CONTRAINDICATED,
        )
    mask = policy.allowed_td_attributes_mask
    if mask is None:
        led.skip("allowed_td_attributes_mask")
    else:
        extra = attributes & ~mask & ~TDATTR_DEBUG  # DEBUG has its own rule, reported once
        if not extra:
            led.passed("configuration")
        else:
            led.fail(
                "allowed_td_attributes_mask",
                "policy.td_attributes_not_allowed",
                f"TDATTRIBUTES {attributes:016x} (bits {extra:016x} outside the mask)",
                f"only bits of {mask:016x} set",
                configuration=CONTRAINDICATED,
            )
    if policy.xfam is None:
        led.skip("xfam")
    elif policy.xfam.holds(body.xfam):
        led.passed("configuration")
    else:
        led.fail(
            "xfam",
            "policy.xfam_mismatch",
            f"{body.xfam:016x}",
            f"{policy.xfam.value:016x} under mask {policy.xfam.mask:016x}",
            configuration=CONTRAINDICATED,
        )
    pinned = (
        ("mrconfigids", "policy.mrconfigid_mismatch", body.mr_config_id, policy.mrconfigids),
        ("mrowners", "policy.mrowner_mismatch", body.mr_owner, policy.mrowners),
        ("mrownerconfigs", "policy.mrownerconfig_mismatch", body.mr_owner_config, policy.mrownerconfigs),
    )
    for rule, code, value, allowed in pinned:
        if allowed is None:
            led.skip(rule)
        elif member(value, allowed):
            led.passed("configuration")
        else:
            led.fail(rule, code, value.hex(), one_of(allowed), configuration=CONTRAINDICATED)
