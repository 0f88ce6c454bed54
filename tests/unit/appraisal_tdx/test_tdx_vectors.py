"""TDX appraisal rules, one vector per rule, on real corpus quotes (claims built with SEAL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from attestgw.appraisal import Status, appraise_tdx, load_tdx_policy, parse_tdx_policy
from attestgw.errors import UsageError
from attestgw.evidence.tdx import TdQuoteBody
from attestgw.evidence.tdx_collateral import TcbStatus
from tests.conftest import REPO
from tests.unit.appraisal_tdx.tdx_fixtures import (
    COS_QUOTE,
    DEBUG_QUOTE,
    NO_SEPT_QUOTE,
    claims_from,
    exact_policy,
)

pytestmark = pytest.mark.corpus

Body = Callable[[TdQuoteBody], dict[str, Any]]


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


def _rtmr2(body: TdQuoteBody) -> dict[str, Any]:
    rtmrs = list(body.rtmrs)
    rtmrs[2] = _flip(rtmrs[2])
    return {"rtmrs": tuple(rtmrs)}


# (case, body change, expected code, AR4SI claim, value): every rule of exact_policy failing alone
BODY_VECTORS: list[tuple[str, Body, str, str, int]] = [
    ("mrtd", lambda b: {"mr_td": _flip(b.mr_td)}, "policy.mrtd_mismatch", "executables", 96),
    ("rtmr2", _rtmr2, "policy.rtmr_mismatch", "executables", 96),
    (
        "mrconfigid",
        lambda b: {"mr_config_id": _flip(b.mr_config_id)},
        "policy.mrconfigid_mismatch",
        "configuration",
        96,
    ),
    ("mrowner", lambda b: {"mr_owner": _flip(b.mr_owner)}, "policy.mrowner_mismatch", "configuration", 96),
    (
        "mrownerconfig",
        lambda b: {"mr_owner_config": _flip(b.mr_owner_config)},
        "policy.mrownerconfig_mismatch",
        "configuration",
        96,
    ),
    ("mrseam", lambda b: {"mr_seam": _flip(b.mr_seam)}, "policy.mrseam_mismatch", "hardware", 96),
    (
        "mrsignerseam",
        lambda b: {"mr_signer_seam": _flip(b.mr_signer_seam)},
        "policy.mrsignerseam_mismatch",
        "hardware",
        96,
    ),
    ("xfam", lambda b: {"xfam": b.xfam ^ 0x2}, "policy.xfam_mismatch", "configuration", 96),
    (
        "attribute outside mask (PKS)",
        lambda b: {"td_attributes": b.td_attributes | 1 << 30},
        "policy.td_attributes_not_allowed",
        "configuration",
        96,
    ),
    (
        "sept_ve_disable clear",
        lambda b: {"td_attributes": b.td_attributes & ~(1 << 28)},
        "policy.sept_ve_disable_required",
        "configuration",
        96,
    ),
    ("debug", lambda b: {"td_attributes": b.td_attributes | 1}, "policy.debug_allowed", "runtime_opaque", 96),
    (
        "tee_tcb_svn module svn lower",
        lambda b: {"tee_tcb_svn": bytes([b.tee_tcb_svn[0] - 1]) + b.tee_tcb_svn[1:]},
        "policy.tee_tcb_svn_below_minimum",
        "hardware",
        96,
    ),
    (
        "report data",
        lambda b: {"report_data": _flip(b.report_data)},
        "policy.report_data_mismatch",
        "instance_identity",
        99,
    ),
]


def test_exact_policy_affirms_the_real_quote() -> None:
    claims = claims_from(COS_QUOTE)
    result = appraise_tdx(claims, exact_policy(claims.body))
    assert result.affirming, result.as_dict()
    assert result.attester == "tdx"
    assert result.vector.executables == result.vector.hardware == result.vector.configuration == 2
    assert result.vector.instance_identity == 2
    assert result.vector.runtime_opaque == 2
    assert result.evidence["mrtd"] == claims.body.mr_td.hex()
    assert result.evidence["tcb_status"] == "UpToDate"


@pytest.mark.parametrize(
    ("case", "change", "code", "claim", "value"), BODY_VECTORS, ids=[v[0] for v in BODY_VECTORS]
)
def test_each_rule_fails_alone(case: str, change: Body, code: str, claim: str, value: int) -> None:
    base = claims_from(COS_QUOTE)
    policy = exact_policy(base.body)
    result = appraise_tdx(claims_from(COS_QUOTE, **change(base.body)), policy)
    assert result.status is Status.CONTRAINDICATED
    assert result.codes == (code,), case
    assert getattr(result.vector, claim) == value
    failure = result.failures[0]
    assert failure.got != failure.want
    assert failure.got
    assert failure.want


# (case, claims kwargs, extra policy lines, expected codes, hardware value, status)
TCB_VECTORS: list[tuple[str, dict[str, Any], str, tuple[str, ...], int, Status]] = [
    ("up to date", {}, "", (), 2, Status.AFFIRMING),
    (
        "sw hardening not allowed",
        {"status": TcbStatus.SW_HARDENING_NEEDED, "advisories": ("INTEL-SA-00837",)},
        "",
        ("policy.tcb_status_not_allowed",),
        96,
        Status.CONTRAINDICATED,
    ),
    (
        "sw hardening allowed, advisory listed",
        {"status": TcbStatus.SW_HARDENING_NEEDED, "advisories": ("INTEL-SA-00837",)},
        'allowed_tcb_statuses = ["UpToDate", "SWHardeningNeeded"]\nallowed_advisory_ids = ["intel-sa-00837"]',
        ("policy.tcb_status_warning",),
        32,
        Status.WARNING,
    ),
    (
        "configuration needed allowed, one advisory unlisted",
        {"status": TcbStatus.CONFIGURATION_NEEDED, "advisories": ("INTEL-SA-00837", "INTEL-SA-00615")},
        'allowed_tcb_statuses = ["ConfigurationNeeded"]\nallowed_advisory_ids = ["INTEL-SA-00837"]',
        ("policy.advisory_not_allowed",),
        96,
        Status.CONTRAINDICATED,
    ),
    (
        "out of date",
        {"status": TcbStatus.OUT_OF_DATE},
        "",
        ("policy.tcb_status_not_allowed",),
        96,
        Status.CONTRAINDICATED,
    ),
    (
        "simulated root not trusted",
        {"simulated": True, "root_sha256": "cd" * 32},
        "",
        ("policy.simulated_root",),
        97,
        Status.CONTRAINDICATED,
    ),
    (
        "simulated root trusted",
        {"simulated": True, "root_sha256": "cd" * 32},
        f'trust_simulated_roots = ["{"CD" * 32}"]',
        (),
        2,
        Status.AFFIRMING,
    ),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "extra", "codes", "hardware", "status"), TCB_VECTORS, ids=[v[0] for v in TCB_VECTORS]
)
def test_tcb_status_advisories_and_root(
    case: str, kwargs: dict[str, Any], extra: str, codes: tuple[str, ...], hardware: int, status: Status
) -> None:
    claims = claims_from(COS_QUOTE, **kwargs)
    result = appraise_tdx(claims, exact_policy(claims.body, extra))
    for failure in result.failures:  # an advisory the policy did not list is named in "got"
        assert all(a in failure.got for a in claims.advisory_ids if a not in extra.upper())
    assert result.codes == codes
    assert result.vector.hardware == hardware
    assert result.status is status


def test_every_rule_is_evaluated_and_reported() -> None:
    base = claims_from(COS_QUOTE)
    changes: dict[str, Any] = {}
    for _case, change, *_ in BODY_VECTORS:
        if _case not in ("sept_ve_disable clear", "attribute outside mask (PKS)", "debug"):
            changes.update(change(base.body))
    changes["td_attributes"] = (base.body.td_attributes | 1 | 1 << 30) & ~(1 << 28)
    claims = claims_from(COS_QUOTE, status=TcbStatus.OUT_OF_DATE, **changes)
    result = appraise_tdx(claims, exact_policy(base.body))
    want = {v[2] for v in BODY_VECTORS} | {"policy.tcb_status_not_allowed"}
    assert set(result.codes) == want
    assert len(result.failures) == len(want)


def test_real_debug_td_is_refused_and_allow_debug_only_warns() -> None:
    claims = claims_from(DEBUG_QUOTE)
    assert claims.body.debug
    base = "[policy]\nid = 'd'\nversion = '1'\n[tdx]\nallow_any_mrtd = true\n"
    refused = appraise_tdx(claims, parse_tdx_policy(base.encode()))
    assert refused.codes == ("policy.debug_allowed",)
    assert refused.vector.runtime_opaque == 96
    warned = appraise_tdx(claims, parse_tdx_policy((base + "allow_debug = true\n").encode()))
    assert warned.status is Status.WARNING
    assert warned.codes == ("policy.debug_allowed",)
    assert not warned.failures
    assert set(warned.opt_ins) == {"allow_any_mrtd", "allow_debug"}


def test_real_quote_without_sept_ve_disable_needs_the_opt_out() -> None:
    claims = claims_from(NO_SEPT_QUOTE)
    base = "[policy]\nid = 's'\nversion = '1'\n[tdx]\nallow_any_mrtd = true\n"
    assert appraise_tdx(claims, parse_tdx_policy(base.encode())).codes == ("policy.sept_ve_disable_required",)
    relaxed = appraise_tdx(claims, parse_tdx_policy((base + "require_sept_ve_disable = false\n").encode()))
    assert relaxed.affirming
    assert "require_sept_ve_disable" in relaxed.opt_ins
    assert "require_sept_ve_disable" in relaxed.not_evaluated


def test_default_policy_refuses_until_the_mrtd_is_filled_in() -> None:
    policy = load_tdx_policy(REPO / "policies" / "attestation" / "default-tdx.toml")
    assert policy.trust_simulated_roots == ()
    assert not policy.allow_debug
    assert policy.require_sept_ve_disable
    claims = claims_from(COS_QUOTE)
    result = appraise_tdx(claims, policy)
    assert result.codes == ("policy.mrtd_mismatch",)
    assert "placeholder" in result.failures[0].want
    filled = dataclasses.replace(policy, mrtds=(claims.body.mr_td,))
    assert appraise_tdx(claims, filled).affirming
    simulated = claims_from(COS_QUOTE, simulated=True, root_sha256="ef" * 32)
    assert appraise_tdx(simulated, filled).codes == ("policy.simulated_root",)
    assert appraise_tdx(claims_from(DEBUG_QUOTE), filled).status is Status.CONTRAINDICATED


def test_expected_report_data_argument_overrides_the_policy_and_is_never_padded() -> None:
    claims = claims_from(COS_QUOTE)
    policy = exact_policy(claims.body)
    other = bytes(64) if any(claims.body.report_data) else b"\x01" * 64
    assert appraise_tdx(claims, policy, expected_report_data=other).codes == ("policy.report_data_mismatch",)
    with pytest.raises(UsageError):
        appraise_tdx(claims, policy, expected_report_data=claims.body.report_data[:32])


def test_unverified_inputs_are_refused() -> None:
    claims = claims_from(COS_QUOTE)
    with pytest.raises(TypeError):
        appraise_tdx(claims.body, exact_policy(claims.body))  # type: ignore[arg-type]
