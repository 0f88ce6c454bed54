"""Appraisal behaviour beyond single rules: all failures at once, the vector, opt-ins, inputs."""

from __future__ import annotations

import dataclasses
import json

import pytest

from attestgw.appraisal import (
    AppraisalResult,
    Failure,
    Status,
    TrustVector,
    appraise_snp,
    parse_policy,
    tier_of,
)
from attestgw.errors import AppraisalError, UsageError
from attestgw.evidence.snp import GuestPolicy
from attestgw.verify.snp import VerifiedSnpClaims
from tests.unit.appraisal.snp_fixtures import (
    make_claims,
    strict_policy,
    synthetic_report,
    tweak_policy,
)


def minimal_policy(measurement_hex: str, extra: str = "") -> str:
    return f"""
[policy]
id = "minimal"
version = "1"

[snp]
measurements = ["{measurement_hex}"]
{extra}
[snp.minimum_tcb]
bootloader = 0
tee = 0
snp = 0
microcode = 0
"""


def test_every_failed_rule_is_reported_not_just_the_first() -> None:
    base = synthetic_report()
    claims = make_claims(
        base,
        {
            "policy": GuestPolicy(base.policy.raw | 1 << 19 | 1 << 18),
            "vmpl": 2,
            "measurement": bytes(48),
            "chip_id": bytes(64),
            "report_data": bytes(64),
            "crl_checked": False,
        },
    )
    result = appraise_snp(claims, strict_policy(base))
    assert set(result.codes) == {
        "policy.debug_allowed",
        "policy.migration_agent_allowed",
        "policy.vmpl_not_allowed",
        "policy.measurement_mismatch",
        "policy.chip_id_not_allowed",
        "policy.chip_id_masked",
        "policy.report_data_mismatch",
        "policy.crl_not_checked",
    }
    assert result.status is Status.CONTRAINDICATED
    assert not result.affirming


def test_failures_say_got_and_want_in_lowercase_hex_and_tcb_dicts() -> None:
    base = synthetic_report()
    policy = strict_policy(base)
    claims = make_claims(base, {"measurement": bytes([0xAB]) * 48})
    (failure,) = appraise_snp(claims, policy).failures
    assert failure == Failure(
        "measurements", "policy.measurement_mismatch", "ab" * 48, f"one of [{base.measurement.hex()}]"
    )
    low = dataclasses.replace(claims.reported_tcb, snp=claims.reported_tcb.snp - 1)
    result = appraise_snp(dataclasses.replace(claims, reported_tcb=low), policy)
    tcb_failure = next(f for f in result.failures if f.rule == "minimum_tcb")
    assert json.loads(tcb_failure.got) == {"bootloader": 10, "tee": 0, "snp": 24, "microcode": 84}
    assert json.loads(tcb_failure.want.removeprefix(">= ")) == {
        "bootloader": 10,
        "tee": 0,
        "snp": 25,
        "microcode": 84,
    }


def test_vector_claims_follow_the_documented_mapping() -> None:
    base = synthetic_report()
    policy = strict_policy(base)
    affirming = appraise_snp(make_claims(base), policy).vector
    assert affirming.as_ear() == {
        "instance-identity": 2,
        "configuration": 2,
        "executables": 2,
        "hardware": 2,
        "runtime-opaque": 2,
    }

    def vector_for(tweak: dict[str, object]) -> TrustVector:
        return appraise_snp(make_claims(base, tweak), policy).vector

    debug = vector_for({"policy": GuestPolicy(base.policy.raw | 1 << 19)})
    assert (debug.configuration, debug.runtime_opaque) == (96, 96)
    assert vector_for({"chip_id": bytes(64)}).instance_identity == 97
    assert vector_for({"report_data": bytes(64)}).instance_identity == 99
    assert vector_for({"measurement": bytes(48)}).executables == 96
    assert vector_for({"simulated": True, "ark_sha256": "00" * 32}).hardware == 97
    assert vector_for({"crl_checked": False}).hardware == 96


def test_unset_rules_affirm_nothing_and_are_listed() -> None:
    base = synthetic_report()
    policy = parse_policy(minimal_policy(base.measurement.hex()).encode())
    result = appraise_snp(make_claims(base), policy)
    assert result.affirming
    assert {"chip_ids", "host_data", "expected_report_data", "recommended_tcb", "minimum_firmware"} <= set(
        result.not_evaluated
    )
    any_measurement = dataclasses.replace(policy, measurements=(), allow_any_measurement=True)
    result = appraise_snp(make_claims(base, {"measurement": bytes([1]) * 48}), any_measurement)
    assert result.affirming
    assert "measurements" in result.not_evaluated
    assert result.opt_ins == ("allow_any_measurement",)
    assert result.vector.executables == 0  # nothing vouched for the executables


def test_placeholder_measurement_says_the_operator_must_fill_it_in() -> None:
    base = synthetic_report()
    policy = parse_policy(minimal_policy("00" * 48).encode())
    (failure,) = appraise_snp(make_claims(base), policy).failures
    assert failure.code == "policy.measurement_mismatch"
    assert "placeholder" in failure.want


def test_expected_report_data_argument_overrides_the_policy() -> None:
    base = synthetic_report()
    policy = strict_policy(base)  # pins the base REPORT_DATA
    claims = make_claims(base)
    other = bytes(reversed(base.report_data))
    assert appraise_snp(claims, policy, expected_report_data=other).codes == ("policy.report_data_mismatch",)
    relaxed = dataclasses.replace(policy, expected_report_data=other)
    assert appraise_snp(claims, relaxed, expected_report_data=base.report_data).affirming
    assert appraise_snp(claims, relaxed).codes == ("policy.report_data_mismatch",)


@pytest.mark.parametrize("length", [0, 32, 63, 65])
def test_expected_report_data_is_never_padded_or_truncated(length: int) -> None:
    base = synthetic_report()
    with pytest.raises(UsageError):
        appraise_snp(make_claims(base), strict_policy(base), expected_report_data=bytes(length))


def test_opt_ins_and_simulated_flag_are_recorded() -> None:
    base = synthetic_report()
    ark = "12" * 32
    policy = tweak_policy(
        strict_policy(base),
        {"trust_simulated_roots": (ark,), "allow_debug": True, "allowed_vmpls": (0, 1)},
        base,
    )
    result = appraise_snp(make_claims(base, {"simulated": True, "ark_sha256": ark}), policy)
    assert result.affirming
    assert result.simulated
    assert set(result.opt_ins) == {"trust_simulated_roots", "allow_debug", "allowed_vmpls"}
    assert result.as_dict()["simulated"] is True
    json.dumps(result.as_dict())  # JSON-ready for the CLI


def test_claims_cannot_be_built_without_the_verify_seal() -> None:
    good = make_claims(synthetic_report())
    values = {
        f.name: getattr(good, f.name) for f in dataclasses.fields(VerifiedSnpClaims) if f.name != "seal"
    }
    with pytest.raises(TypeError):
        VerifiedSnpClaims(**values)
    with pytest.raises(TypeError):
        VerifiedSnpClaims(**values, seal=object())


def test_appraisal_accepts_only_verified_claims() -> None:
    base = synthetic_report()
    with pytest.raises(TypeError):
        appraise_snp(base, strict_policy(base))  # type: ignore[arg-type]


def test_raise_unless_affirming() -> None:
    base = synthetic_report()
    policy = strict_policy(base)
    appraise_snp(make_claims(base), policy).raise_unless_affirming()
    refused = appraise_snp(make_claims(base, {"vmpl": 1}), policy)
    with pytest.raises(AppraisalError) as info:
        refused.raise_unless_affirming()
    assert info.value.code == "policy.vmpl_not_allowed"


def test_a_result_cannot_claim_a_status_better_than_its_vector() -> None:
    with pytest.raises(ValueError, match="better"):
        AppraisalResult(
            attester="snp",
            status=Status.AFFIRMING,
            vector=TrustVector(hardware=96),
            failures=(),
            warnings=(),
            opt_ins=(),
            not_evaluated=(),
            policy_id="p",
            policy_version="1",
            policy_digest="00" * 32,
            simulated=False,
        )


def test_failure_codes_must_be_registered() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        Failure("x", "policy.made_up", "a", "b")


@pytest.mark.parametrize(
    ("value", "tier"),
    [
        (0, Status.NONE),
        (1, Status.NONE),
        (-1, Status.NONE),
        (2, Status.AFFIRMING),
        (31, Status.AFFIRMING),
        (-2, Status.AFFIRMING),
        (-32, Status.AFFIRMING),
        (32, Status.WARNING),
        (95, Status.WARNING),
        (-33, Status.WARNING),
        (-96, Status.WARNING),
        (96, Status.CONTRAINDICATED),
        (127, Status.CONTRAINDICATED),
        (-97, Status.CONTRAINDICATED),
        (-128, Status.CONTRAINDICATED),
    ],
)
def test_ar4si_tier_boundaries(value: int, tier: Status) -> None:
    assert tier_of(value) is tier


@pytest.mark.parametrize("value", [128, -129, True])
def test_tier_refuses_non_int8(value: int) -> None:
    with pytest.raises(ValueError, match="int8"):
        tier_of(value)
