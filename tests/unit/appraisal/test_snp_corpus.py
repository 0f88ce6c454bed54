"""The shipped policies against real SEV-SNP captures from the shared corpus (skipped when absent).

The claims are built from the real reports as ``verify`` would produce them (see snp_fixtures);
signatures and chains of the same files are covered by the verify tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from attestgw.appraisal import Status, appraise_snp, load_policy
from attestgw.evidence.snp import AttestationReport
from tests.unit.appraisal.snp_fixtures import (
    load_azure_evidence_report,
    load_corpus_report,
    make_claims,
    repo_policy,
)

# Real reports whose platform reports the BadRAM alias check complete: the default policy's TCB
# floors were derived from exactly this set (policies/attestation/default-snp.toml).
CURRENT_CAPTURES: list[tuple[str, Callable[[str], AttestationReport]]] = [
    ("snp/oak/milan_oc_release_report.bin", load_corpus_report),
    ("snp/oak/genoa_oc_report.bin", load_corpus_report),
    ("snp/oak/turin_oc_report.bin", load_corpus_report),
    ("snp/dstack/sev_snp_report.bin", load_corpus_report),
    ("snp/trustee/e2e-evidence-genoa.report.bin", load_corpus_report),
    ("azure/openpcc/azure_sevsnp_hcl_report.bin", load_corpus_report),
    ("azure/trustee-az-snp/evidence-v1.json", load_azure_evidence_report),
]


@pytest.mark.parametrize(("rel", "loader"), CURRENT_CAPTURES, ids=[c[0] for c in CURRENT_CAPTURES])
def test_default_policy_refuses_only_for_the_unfilled_measurement(
    rel: str, loader: Callable[[str], AttestationReport]
) -> None:
    report = loader(rel)
    policy = load_policy(repo_policy("default-snp.toml"))
    result = appraise_snp(make_claims(report), policy)
    assert result.codes == ("policy.measurement_mismatch",)
    assert "placeholder" in result.failures[0].want
    # once the operator fills in the measurement, the strict defaults accept these captures
    filled = dataclasses.replace(policy, measurements=(report.measurement,))
    assert appraise_snp(make_claims(report), filled).status is Status.AFFIRMING


def test_default_policy_refuses_a_2022_era_platform_for_every_reason() -> None:
    report = load_corpus_report("azure/trustee-az-snp/hcl-report.bin")  # v2, firmware 1.52.4
    policy = load_policy(repo_policy("default-snp.toml"))
    filled = dataclasses.replace(policy, measurements=(report.measurement,))
    codes = set(appraise_snp(make_claims(report), filled).codes)
    assert codes == {
        "policy.tcb_below_minimum",
        "policy.launch_tcb_below_minimum",
        "policy.tcb_not_committed",  # CURRENT microcode 210 ahead of COMMITTED 115
        "policy.firmware_below_minimum",
        "policy.report_version_below_minimum",
        "policy.alias_check_required",
    }


def test_default_policy_refuses_a_vlek_report() -> None:
    report = load_corpus_report("snp/trustee/test-vlek-report.bin")  # AWS-style VLEK, VMPL 1
    filled = dataclasses.replace(
        load_policy(repo_policy("default-snp.toml")), measurements=(report.measurement,)
    )
    codes = set(appraise_snp(make_claims(report), filled).codes)
    assert {"policy.signing_key_not_allowed", "policy.vmpl_not_allowed"} <= codes


@pytest.mark.parametrize("name", ["evidence-v0.json", "evidence-v1.json", "evidence-v2.json"])
def test_example_azure_policy_affirms_the_azure_milan_captures(name: str) -> None:
    report = load_azure_evidence_report(f"azure/trustee-az-snp/{name}")
    result = appraise_snp(make_claims(report), load_policy(repo_policy("example-azure-milan.toml")))
    assert result.status is Status.AFFIRMING, result.failures
    assert result.opt_ins == ()


def test_example_azure_policy_refuses_the_older_azure_capture() -> None:
    report = load_corpus_report("azure/trustee-az-snp/hcl-report.bin")
    result = appraise_snp(make_claims(report), load_policy(repo_policy("example-azure-milan.toml")))
    assert set(result.codes) == {
        "policy.measurement_mismatch",
        "policy.id_key_mismatch",  # a different Microsoft ID key signed that paravisor
        "policy.family_id_mismatch",
        "policy.guest_svn_below_minimum",
        "policy.tcb_below_minimum",
        "policy.tcb_not_committed",
        "policy.firmware_below_minimum",
        "policy.report_version_below_minimum",
        "policy.alias_check_required",
    }


def test_example_azure_policy_refuses_a_genoa_azure_capture() -> None:
    report = load_azure_evidence_report("azure/trustee-az-snp/evidence-genoa.json")
    codes = set(appraise_snp(make_claims(report), load_policy(repo_policy("example-azure-milan.toml"))).codes)
    assert {"policy.product_not_allowed", "policy.no_tcb_minimum"} <= codes
