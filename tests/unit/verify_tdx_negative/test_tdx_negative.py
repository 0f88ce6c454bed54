"""Intel TDX through the real parser and verifier with simulated evidence: what passes, what is refused.

Each negative case changes one thing — one signature in the chain, the QE binding, the CRLs, the
collateral dates, the trust store, the quote kind — from evidence that otherwise verifies, and
expects one stable error code. A debug TD and a TCB status below policy still *verify* (they are
appraisal failures); the last tests show the verified claims carry what appraisal needs to refuse
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from attestgw.crypto.signing import generate_p256_key
from attestgw.errors import CODES, AttestgwError, CollateralUnavailableError, VerificationError
from attestgw.evidence.tdx import BodyType, parse_quote
from attestgw.evidence.tdx_collateral import TcbStatus, parse_bundle
from attestgw.verify.tdx import INTEL_TRUST, IntelTrustStore
from attestgw.verify.tdx.claims import TdxVerifyOptions, VerifiedTdxClaims
from attestgw.verify.tdx.quote_verifier import verify_tdx
from tests.unit.attester_tdx.simulated_intel_pki import VERIFY_AT, attester, authority

NONCE = bytes(range(64))


def _trust() -> IntelTrustStore:
    return INTEL_TRUST.with_simulated(authority().root_sha256())


def _verify(overrides: dict[str, Any], trust: IntelTrustStore | None = None) -> VerifiedTdxClaims:
    evidence = attester().quote(NONCE, **overrides)
    options = TdxVerifyOptions(at=VERIFY_AT, trust=_trust() if trust is None else trust)
    return verify_tdx(parse_quote(evidence.quote), parse_bundle(evidence.collateral), options)


@pytest.mark.parametrize(
    ("overrides", "version", "body_type"),
    [
        pytest.param({}, 4, BodyType.TD10, id="v4"),
        pytest.param({"body_type": BodyType.TD10}, 5, BodyType.TD10, id="v5-td10"),
        pytest.param({"body_type": BodyType.TD15}, 5, BodyType.TD15, id="v5-td15"),
    ],
)
def test_happy_paths_verify_and_are_marked_simulated(
    overrides: dict[str, Any], version: int, body_type: BodyType
) -> None:
    claims = _verify(overrides)
    assert claims.simulated
    assert claims.quote.version == version
    assert claims.quote.body_type is body_type
    assert claims.tcb_status is TcbStatus.UP_TO_DATE
    assert claims.advisory_ids == ()
    assert claims.fmspc == "b0c06f000000"
    assert claims.body.report_data == NONCE
    assert claims.root_sha256 == authority().root_sha256()


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    overrides: dict[str, Any] = field(default_factory=dict)
    unpinned: bool = False
    error: type[AttestgwError] = VerificationError


CASES = [
    # Every signature in the chain, one at a time.
    Case("quote signature", "tdx.quote_signature_invalid", {"break_quote_signature": True}),
    Case("quote signed by another key", "tdx.quote_signature_invalid", {"sign_with": "fresh"}),
    Case("QE report signature", "tdx.qe_report_signature_invalid", {"break_qe_report_signature": True}),
    Case("PCK certificate signature", "tdx.pck_chain_invalid", {"break_pck_certificate": True}),
    Case("PCK CA (intermediate) signature", "tdx.pck_chain_invalid", {"break_intermediate": True}),
    Case("TCB info signature", "tdx.collateral_signature_invalid", {"break_tcb_info_signature": True}),
    Case("QE identity signature", "tdx.collateral_signature_invalid", {"break_qe_identity_signature": True}),
    Case("root CA CRL signature", "tdx.crl_invalid", {"break_root_crl": True}),
    Case("PCK CRL signature", "tdx.crl_invalid", {"break_pck_crl": True}),
    # Bindings, revocation, freshness, trust, quote kind.
    Case("QE report data binds another key", "tdx.qe_report_data_mismatch", {"wrong_qe_report_data": True}),
    Case(
        "QE report data tail not zero",
        "tdx.qe_report_data_mismatch",
        {"qe_report": {"report_data": bytes(64)}},
    ),
    Case("revoked PCK", "tdx.pck_revoked", {"revoke_pck": True}),
    Case("revoked PCK CA", "tdx.collateral_revoked", {"revoke_pck_ca": True}),
    Case(
        "expired TCB info",
        "tdx.collateral_expired",
        {"expire_tcb_info": True},
        error=CollateralUnavailableError,
    ),
    Case(
        "expired QE identity",
        "tdx.collateral_expired",
        {"expire_qe_identity": True},
        error=CollateralUnavailableError,
    ),
    Case("unpinned (simulated) root", "tdx.root_not_pinned", unpinned=True),
    Case("SGX quote", "tdx.not_a_td_quote", {"sgx": True}),
    Case("QE identity revoked", "tdx.tcb_revoked", {"qe_tcb_status": TcbStatus.REVOKED}),
    Case("platform TCB revoked", "tdx.tcb_revoked", {"tcb_status": TcbStatus.REVOKED}),
    Case("QE is not Intel's TD QE", "tdx.qe_identity_mismatch", {"qe_report": {"mr_signer": bytes(32)}}),
    Case(
        "TEE_TCB_SVN names an unknown module",
        "tdx.module_identity_mismatch",
        {"tee_tcb_svn": bytes([6, 2, 3]) + bytes(13)},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_break_is_refused_with_its_code(case: Case) -> None:
    assert case.code in CODES
    overrides = dict(case.overrides)
    if overrides.get("sign_with") == "fresh":
        overrides["sign_with"] = generate_p256_key()  # a key the QE never certified
    with pytest.raises(case.error) as err:
        _verify(overrides, trust=INTEL_TRUST if case.unpinned else None)
    assert err.value.code == case.code


def test_debug_td_verifies_and_says_so() -> None:
    claims = _verify({"debug": True})
    assert claims.body.debug
    assert claims.tcb_status is TcbStatus.UP_TO_DATE


def test_lowered_tcb_verifies_as_out_of_date_with_advisories() -> None:
    claims = _verify({"lower_tcb": True})
    assert claims.tcb_status is TcbStatus.OUT_OF_DATE
    assert "INTEL-SA-00837" in claims.advisory_ids
    hardening = _verify({"tcb_status": TcbStatus.SW_HARDENING_NEEDED, "advisory_ids": ("INTEL-SA-00615",)})
    assert hardening.tcb_status is TcbStatus.SW_HARDENING_NEEDED
    assert hardening.advisory_ids == ("INTEL-SA-00615",)
    qe_old = _verify({"qe_tcb_status": TcbStatus.OUT_OF_DATE})
    assert qe_old.tcb_status is TcbStatus.OUT_OF_DATE
