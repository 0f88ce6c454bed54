"""SEV-SNP rules on the guest POLICY, the VMPL and PLATFORM_INFO (AR4SI configuration and more).

Debug (POLICY bit 19) lets the host read guest memory, so it also lowers *runtime-opaque*; under
``allow_debug = true`` it is a warning, never affirming. The other requirements are checked only
when the policy turns them on; a platform feature counts as present when either the live
PLATFORM_INFO bit or the guest-policy bit that makes firmware enforce it for the guest is set.
"""

from __future__ import annotations

from attestgw.appraisal._ledger import CONTRAINDICATED, WARNING, Ledger
from attestgw.appraisal.policy import SnpPolicy
from attestgw.verify.snp import VerifiedSnpClaims

__all__ = ["guest_rules"]


def guest_rules(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    report = claims.report
    guest = report.policy
    if not guest.debug_allowed:
        led.passed("configuration", "runtime_opaque")
    elif policy.allow_debug:
        led.warn(
            "allow_debug",
            "policy.debug_allowed",
            "guest POLICY allows debug (bit 19)",
            "debug disabled (accepted here only because allow_debug = true)",
            configuration=WARNING,
            runtime_opaque=WARNING,
        )
    else:
        led.fail(
            "allow_debug",
            "policy.debug_allowed",
            "guest POLICY allows debug (bit 19): the host can read guest memory",
            "debug disabled",
            configuration=CONTRAINDICATED,
            runtime_opaque=CONTRAINDICATED,
        )
    if guest.migrate_ma_allowed and not policy.allow_migration_agent:
        led.fail(
            "allow_migration_agent",
            "policy.migration_agent_allowed",
            "guest POLICY allows a migration agent (bit 18)",
            "no migration agent",
            configuration=CONTRAINDICATED,
        )
    else:
        led.passed("configuration")
    # a lower-privileged VMPL can ask for reports with arbitrary REPORT_DATA (formats.md §2.7)
    if report.vmpl in policy.allowed_vmpls:
        led.passed("configuration")
    else:
        led.fail(
            "allowed_vmpls",
            "policy.vmpl_not_allowed",
            str(report.vmpl),
            f"one of {list(policy.allowed_vmpls)}",
            configuration=CONTRAINDICATED,
        )
    if policy.minimum_abi is None:
        led.skip("minimum_abi")
    elif (guest.abi_major, guest.abi_minor) >= policy.minimum_abi:
        led.passed("configuration")
    else:
        led.fail(
            "minimum_abi",
            "policy.abi_below_minimum",
            f"{guest.abi_major}.{guest.abi_minor}",
            ">= {}.{}".format(*policy.minimum_abi),
            configuration=CONTRAINDICATED,
        )
    _requirements(led, claims, policy)


def _requirements(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    guest, platform = claims.report.policy, claims.report.platform_info
    # (enabled by policy, holds, rule, code, what must hold, claim)
    table = [
        (
            policy.require_smt_disabled,
            not platform.smt_enabled,
            "require_smt_disabled",
            "policy.smt_enabled",
            "SMT disabled (PLATFORM_INFO SMT_EN clear)",
            "configuration",
        ),
        (
            policy.require_single_socket,
            guest.single_socket_required,
            "require_single_socket",
            "policy.single_socket_required",
            "single socket required (guest POLICY bit 20)",
            "configuration",
        ),
        (
            policy.require_ciphertext_hiding,
            platform.ciphertext_hiding_enabled or guest.ciphertext_hiding_required,
            "require_ciphertext_hiding",
            "policy.ciphertext_hiding_required",
            "ciphertext hiding (PLATFORM_INFO bit 4 or guest POLICY bit 24)",
            "configuration",
        ),
        (
            policy.require_rapl_disabled,
            platform.rapl_disabled or guest.rapl_disable_required,
            "require_rapl_disabled",
            "policy.rapl_disable_required",
            "RAPL disabled (PLATFORM_INFO bit 3 or guest POLICY bit 23)",
            "configuration",
        ),
        (
            policy.require_page_swap_disabled,
            guest.page_swap_disable,
            "require_page_swap_disabled",
            "policy.page_swap_disable_required",
            "page swap disabled (guest POLICY bit 25)",
            "configuration",
        ),
        (
            policy.require_tsme,
            platform.tsme_enabled,
            "require_tsme",
            "policy.tsme_required",
            "TSME enabled (PLATFORM_INFO bit 1)",
            "configuration",
        ),
        (
            policy.require_alias_check,
            platform.alias_check_complete,
            "require_alias_check",
            "policy.alias_check_required",
            "BadRAM alias check complete (PLATFORM_INFO bit 5, AMD-SB-3015)",
            "hardware",
        ),
    ]
    for enabled, holds, rule, code, what, claim in table:
        if not enabled:
            continue
        if holds:
            led.passed(claim)
        else:
            led.fail(rule, code, "not in force", what, **{claim: CONTRAINDICATED})
