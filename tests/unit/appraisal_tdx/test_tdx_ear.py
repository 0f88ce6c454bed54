"""A TDX appraisal becomes an EAR submod "tdx"; verify_ear_jwt checks it when asked to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.appraisal import appraise_snp, appraise_tdx, build_ear, sign_ear, verify_ear_jwt
from attestgw.crypto.keys import generate_p256_key
from attestgw.errors import VerificationError
from tests.unit.appraisal.snp_fixtures import make_claims, strict_policy, synthetic_report
from tests.unit.appraisal_tdx.tdx_fixtures import COS_QUOTE, DEBUG_QUOTE, claims_from, exact_policy

pytestmark = pytest.mark.corpus

NOW = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
NONCE = bytes(range(32))


def test_tdx_only_ear_round_trip() -> None:
    claims = claims_from(COS_QUOTE)
    result = appraise_tdx(claims, exact_policy(claims.body))
    ear = build_ear(result, issued_at=NOW, nonce=NONCE)
    assert set(ear["submods"]) == {"tdx"}
    submod = ear["submods"]["tdx"]
    assert submod["ear_status"] == "affirming"
    assert submod["ear_appraisal_policy_ids"] == [result.policy_ref]
    assert submod["attestgw_appraisal"]["evidence"]["mrtd"] == claims.body.mr_td.hex()
    key = generate_p256_key()
    token = sign_ear(ear, key)
    verified = verify_ear_jwt(
        token, key.public_key(), expected_nonce=NONCE, at=NOW, required_submods=("tdx",)
    )
    assert verified.affirming
    # the default still requires an SNP submod: SNP callers are unaffected
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, key.public_key())
    assert info.value.code == "ear.submod_missing"


def test_snp_and_tdx_submods_together_take_the_worst_status() -> None:
    report = synthetic_report()
    snp_result = appraise_snp(make_claims(report), strict_policy(report))
    assert snp_result.affirming
    debug = claims_from(DEBUG_QUOTE)
    tdx_result = appraise_tdx(debug, exact_policy(debug.body))
    ear = build_ear([snp_result, tdx_result], issued_at=NOW)
    assert ear["submods"]["tdx"]["ear_status"] == "contraindicated"
    assert ear["ear_status"] == "contraindicated"
    key = generate_p256_key()
    verified = verify_ear_jwt(sign_ear(ear, key), key.public_key(), required_submods=("snp", "tdx"))
    assert not verified.affirming
    assert verified.submods["tdx"].value == "contraindicated"
