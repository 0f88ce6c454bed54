"""SEV-SNP rules that feed the AR4SI *hardware* claim: trust root, product, revocation, TCB, firmware.

TCBs are compared component-wise on the product's own layout (``TcbParts.below``), never as one
integer (formats.md §2.3). The floor that matters most is REPORTED_TCB, the TCB the VCEK/VLEK was
derived for: CURRENT/COMMITTED/LAUNCH are self-reported by firmware (formats.md §2.7, TCB rollback).
"""

from __future__ import annotations

import json

from attestgw.appraisal._ledger import CONTRAINDICATED, UNRECOGNIZED, WARNING, Ledger
from attestgw.appraisal.policy import SnpPolicy, TcbMinimum
from attestgw.evidence.snp import TcbParts
from attestgw.verify.snp import VerifiedSnpClaims

__all__ = ["hardware_rules"]


def _tcb(parts: TcbParts) -> str:
    return json.dumps(parts.as_dict())


def _floor(minimum: TcbParts, like: TcbParts) -> str:
    """The minimum shown with the components the evidence's product has (no FMC before Turin)."""
    have = dict(like.items())
    return ">= " + json.dumps({k: v for k, v in minimum.items() if k in have})


def hardware_rules(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    _root_product_revocation(led, claims, policy)
    _reported_tcb(led, claims, policy)
    _self_reported_tcbs(led, claims, policy)
    _firmware(led, claims, policy)
    _mitigations(led, claims, policy)


def _root_product_revocation(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    if claims.simulated and claims.ark_sha256.lower() not in policy.trust_simulated_roots:
        led.fail(
            "trust_simulated_roots",
            "policy.simulated_root",
            f"simulated ARK sha256 {claims.ark_sha256.lower()}",
            "a pinned AMD root, or a simulated root listed in trust_simulated_roots",
            hardware=UNRECOGNIZED,
        )
    else:
        led.passed("hardware")
    if policy.allowed_products is None:
        led.skip("allowed_products")
    elif claims.product in policy.allowed_products:
        led.passed("hardware")
    else:
        want = ", ".join(p.value for p in policy.allowed_products)
        led.fail(
            "allowed_products",
            "policy.product_not_allowed",
            claims.product.value,
            f"one of [{want}]",
            hardware=CONTRAINDICATED,
        )
    if not policy.require_crl:
        return
    if claims.crl_checked:
        led.passed("hardware")
    else:
        led.fail(
            "require_crl",
            "policy.crl_not_checked",
            "no AMD CRL was checked",
            "the chain checked against a current AMD CRL",
            hardware=CONTRAINDICATED,
        )


def _reported_tcb(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    product, reported = claims.product, claims.reported_tcb
    floor = policy.minimum_tcb.for_product(product)
    if floor is None:
        led.fail(
            "minimum_tcb",
            "policy.no_tcb_minimum",
            f"{product.value} REPORTED_TCB {_tcb(reported)}",
            f"a minimum_tcb entry for {product.value}",
            hardware=CONTRAINDICATED,
        )
    elif reported.below(floor):
        led.fail(
            "minimum_tcb",
            "policy.tcb_below_minimum",
            _tcb(reported),
            _floor(floor, reported),
            hardware=CONTRAINDICATED,
        )
    else:
        led.passed("hardware")
    recommended = policy.recommended_tcb.for_product(product) if policy.recommended_tcb else None
    if policy.recommended_tcb is None:
        led.skip("recommended_tcb")
    elif (
        floor is not None
        and recommended is not None
        and reported.below(recommended)
        and not reported.below(floor)
    ):
        # the warning tier: genuine and above the floor, but with fixes available that it lacks
        led.warn(
            "recommended_tcb",
            "policy.tcb_below_recommended",
            _tcb(reported),
            _floor(recommended, reported),
            hardware=WARNING,
        )


def _self_reported_tcbs(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    product = claims.product
    rules: list[tuple[str, str, TcbParts, TcbMinimum | None]] = [
        (
            "minimum_current_tcb",
            "policy.current_tcb_below_minimum",
            claims.current_tcb,
            policy.minimum_current_tcb,
        ),
        (
            "minimum_committed_tcb",
            "policy.committed_tcb_below_minimum",
            claims.committed_tcb,
            policy.minimum_committed_tcb,
        ),
        (
            "minimum_launch_tcb",
            "policy.launch_tcb_below_minimum",
            claims.launch_tcb,
            policy.minimum_launch_tcb,
        ),
    ]
    for rule, code, parts, minimum in rules:
        if minimum is None:
            led.skip(rule)
            continue
        floor = minimum.for_product(product)
        if floor is None:
            want = f"a {rule} entry for {product.value}"
            led.fail(rule, "policy.no_tcb_minimum", _tcb(parts), want, hardware=CONTRAINDICATED)
        elif parts.below(floor):
            led.fail(rule, code, _tcb(parts), _floor(floor, parts), hardware=CONTRAINDICATED)
        else:
            led.passed("hardware")
    if not policy.require_committed_equals_current:
        return
    if claims.committed_tcb.as_dict() == claims.current_tcb.as_dict():
        led.passed("hardware")
    else:
        # provisional firmware: a reboot may roll the platform back to COMMITTED_TCB
        led.fail(
            "require_committed_equals_current",
            "policy.tcb_not_committed",
            f"committed {_tcb(claims.committed_tcb)}",
            f"equal to current {_tcb(claims.current_tcb)}",
            hardware=CONTRAINDICATED,
        )


def _firmware(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    report = claims.report
    if policy.minimum_firmware is None:
        led.skip("minimum_firmware")
    else:
        current = (report.current_major, report.current_minor, report.current_build)
        committed = (report.committed_major, report.committed_minor, report.committed_build)
        # the committed firmware is what the platform returns to after a reboot: both must qualify
        if min(current, committed) >= policy.minimum_firmware:
            led.passed("hardware")
        else:
            led.fail(
                "minimum_firmware",
                "policy.firmware_below_minimum",
                f"current {'.'.join(map(str, current))}, committed {'.'.join(map(str, committed))}",
                ">= " + ".".join(map(str, policy.minimum_firmware)),
                hardware=CONTRAINDICATED,
            )
    if policy.minimum_report_version is None:
        led.skip("minimum_report_version")
    elif report.version >= policy.minimum_report_version:
        led.passed("hardware")
    else:
        led.fail(
            "minimum_report_version",
            "policy.report_version_below_minimum",
            str(report.version),
            f">= {policy.minimum_report_version}",
            hardware=CONTRAINDICATED,
        )


def _mitigations(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    report = claims.report
    if not policy.required_mitigations:
        led.skip("required_mitigations")
        return
    required = sum(1 << bit for bit in policy.required_mitigations)
    current, launch = report.current_mit_vector, report.launch_mit_vector
    # a mitigation applied only after launch left the guest exposed before it: require both
    if current is not None and launch is not None and current & launch & required == required:
        led.passed("hardware")
        return
    got = (
        f"report version {report.version} has no mitigation vectors"
        if current is None or launch is None
        else f"current {current:#x}, launch {launch:#x}"
    )
    led.fail(
        "required_mitigations",
        "policy.mitigation_missing",
        got,
        f"bits {list(policy.required_mitigations)} set in both current and launch vectors",
        hardware=CONTRAINDICATED,
    )
