"""SEV-SNP through the real parser and verifier with simulated evidence: what passes, what is refused.

Each negative case changes one thing — a report field, the collateral, the trust store, the time —
from evidence that otherwise verifies, and expects one distinct stable error code. The debug bit
and the migration agent are appraisal matters (the reports below still *verify*); the appraisal
tests refuse them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from attestgw.attester.simulated_snp import SimulatedAmdAuthority, SimulatedEvidence, SimulatedSnpAttester
from attestgw.crypto.signing import generate_p384_key
from attestgw.errors import CODES, AttestgwError, CollateralUnavailableError, FormatError, VerificationError
from attestgw.evidence.snp import Product, SigningKey, TcbParts, parse_cert_table, parse_report
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from tests.unit.attester.simulated_pki import ISSUED_AT, VERIFY_AT, authority

NONCE = bytes(range(64))


@pytest.fixture(scope="session")
def pki() -> dict[str, SimulatedAmdAuthority]:
    """Simulated authorities, keys generated once per run (shared with the attester tests)."""
    return {
        "milan": authority(Product.MILAN),
        "genoa": authority(Product.GENOA),
        "turin": authority(Product.TURIN),
        "milan-other": authority(Product.MILAN, "other"),
    }


@pytest.fixture(scope="session")
def attesters(pki: dict[str, SimulatedAmdAuthority]) -> dict[str, SimulatedSnpAttester]:
    def make(name: str, **kwargs: Any) -> SimulatedSnpAttester:
        return SimulatedSnpAttester(pki[name], issued_at=ISSUED_AT, enable_simulation=True, **kwargs)

    return {
        "milan": make("milan"),
        "milan-vlek": make("milan", signing_key=SigningKey.VLEK),
        "genoa": make("genoa"),
        "genoa-vlek": make("genoa", signing_key=SigningKey.VLEK),
        "turin": make("turin"),
        "turin-vlek": make("turin", signing_key=SigningKey.VLEK),
        "milan-other": make("milan-other"),
        # Genoa certificates, Milan CPUID in the report.
        "genoa-as-milan": make("genoa", product=Product.MILAN),
    }


def _trust_for(auth: SimulatedAmdAuthority) -> Any:
    return AMD_TRUST.with_simulated(auth.product, auth.ark_sha256())


def _verify(
    evidence: SimulatedEvidence,
    collateral: SnpCollateral | None = None,
    *,
    at: datetime = VERIFY_AT,
    trust: Any = None,
    require_crl: bool = False,
) -> VerifiedSnpClaims:
    """Parse and verify like a relying party does, trusting exactly the evidence's simulated root."""
    report = parse_report(evidence.report)
    if collateral is None:
        collateral = SnpCollateral(signing_cert=evidence.signing_cert, chain=evidence.chain)
    if trust is None:
        trust = AMD_TRUST.with_simulated(evidence.product, evidence.ark_sha256)
    return verify_snp(report, collateral, SnpVerifyOptions(at=at, trust=trust, require_crl=require_crl))


# -- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["milan", "genoa", "turin", "milan-vlek", "genoa-vlek", "turin-vlek"])
@pytest.mark.parametrize("version", [3, 5])
def test_simulated_evidence_verifies_and_is_marked_simulated(
    attesters: dict[str, SimulatedSnpAttester], name: str, version: int
) -> None:
    attester = attesters[name]
    evidence = attester.report(NONCE, version=version)
    claims = _verify(evidence)
    assert claims.simulated
    assert claims.product is attester.product
    assert claims.signing_key is attester.signing.kind
    assert claims.report.version == version
    assert claims.report.report_data == NONCE
    assert claims.reported_tcb == attester.tcb
    assert claims.ark_sha256 == attester.authority.ark_sha256()
    assert claims.signing_cert_sha256 == attester.signing.certificate_sha256
    if attester.signing.kind is SigningKey.VCEK:
        assert claims.chip_id_checked
        assert claims.csp_id is None
    else:
        assert claims.csp_id == "cc-us-east-1"
    assert not claims.crl_checked


def test_certificate_table_alone_is_enough_and_a_fresh_crl_is_checked(
    attesters: dict[str, SimulatedSnpAttester], pki: dict[str, SimulatedAmdAuthority]
) -> None:
    evidence = attesters["genoa"].report(NONCE)
    crl = pki["genoa"].crl([], ISSUED_AT, VERIFY_AT + timedelta(days=30))
    claims = _verify(
        evidence,
        SnpCollateral(cert_table=parse_cert_table(evidence.cert_table), crl=crl),
        require_crl=True,
    )
    assert claims.simulated
    assert claims.crl_checked
    assert claims.crl_next_update == VERIFY_AT + timedelta(days=30)


def test_debug_and_migration_agent_reports_still_verify(attesters: dict[str, SimulatedSnpAttester]) -> None:
    # Refusing them is appraisal's job (policy.debug_allowed, policy.migration_agent_allowed).
    assert _verify(attesters["milan"].report(NONCE, debug=True)).report.policy.debug_allowed
    ma = _verify(attesters["milan"].report(NONCE, migration_agent=True))
    assert ma.report.policy.migrate_ma_allowed


# -- negative table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """One change from verifiable evidence. Collateral/trust selectors are resolved by ``_run``."""

    attester: str = "milan"
    report: Mapping[str, Any] = field(default_factory=dict)
    raw: Callable[[bytes], bytes] | None = None  # applied to the report bytes after signing
    signing_cert: str = "own"  # "own" | "none" | "<attester name>" (take that attester's cert)
    chain: str = "own"  # "own" | "<authority name>"
    crl: str | None = None  # None | "fresh" | "revokes-ask" | "stale" | "<authority name>"
    trust: str = "own"  # "own" (the attester's simulated ARK) | "amd-only" | "<authority name>"
    at: datetime = VERIFY_AT
    require_crl: bool = False


def _crl(kind: str, pki: Mapping[str, SimulatedAmdAuthority], own: SimulatedAmdAuthority) -> bytes:
    if kind == "fresh":
        return own.crl([], ISSUED_AT, VERIFY_AT + timedelta(days=30))
    if kind == "revokes-ask":
        return own.crl([own.intermediate_serial(SigningKey.VCEK)], ISSUED_AT, VERIFY_AT + timedelta(days=30))
    if kind == "stale":
        return own.crl([], ISSUED_AT, VERIFY_AT - timedelta(days=1))
    return pki[kind].crl([], ISSUED_AT, VERIFY_AT + timedelta(days=30))


def _run(
    case: Override, attesters: Mapping[str, SimulatedSnpAttester], pki: Mapping[str, SimulatedAmdAuthority]
) -> VerifiedSnpClaims:
    attester = attesters[case.attester]
    own = attester.authority
    evidence = attester.report(NONCE, **case.report)
    raw = case.raw(evidence.report) if case.raw is not None else evidence.report
    report = parse_report(raw)
    if case.signing_cert == "own":
        signing_cert: bytes | None = evidence.signing_cert
    elif case.signing_cert == "none":
        signing_cert = None
    else:
        signing_cert = attesters[case.signing_cert].signing.certificate
    chain = evidence.chain if case.chain == "own" else pki[case.chain].chain_pem(evidence.signing_key)
    collateral = SnpCollateral(
        signing_cert=signing_cert,
        chain=chain,
        crl=_crl(case.crl, pki, own) if case.crl is not None else None,
    )
    if case.trust == "amd-only":
        trust = AMD_TRUST
    else:
        trust = _trust_for(own if case.trust == "own" else pki[case.trust])
    options = SnpVerifyOptions(at=case.at, trust=trust, require_crl=case.require_crl)
    return verify_snp(report, collateral, options)


OTHER_TCB = TcbParts(bootloader=3, tee=0, snp=24, microcode=219)  # bootloader one below the VCEK's

NEGATIVE: list[tuple[str, Override, str]] = [
    ("bad signature", Override(report={"tamper_signature": True}), "snp.signature_invalid"),
    ("signed by another key", Override(report={"sign_with": generate_p384_key()}), "snp.signature_invalid"),
    ("all-zero signature", Override(report={"zero_signature": True}), "snp.signature_missing"),
    # The chain's own root is trusted, but the VCEK was not signed by that chain's ASK.
    ("chain of another authority", Override(chain="milan-other", trust="milan-other"), "snp.chain_invalid"),
    ("ARK not pinned", Override(trust="amd-only"), "snp.root_not_pinned"),
    ("Genoa VCEK for a Milan report", Override(attester="genoa-as-milan"), "snp.wrong_product"),
    ("REPORTED_TCB differs from the VCEK", Override(report={"reported_tcb": OTHER_TCB}), "snp.tcb_mismatch"),
    ("CHIP_ID differs from hwID", Override(report={"chip_id": b"\x5a" * 64}), "snp.chip_id_mismatch"),
    (
        "Turin CHIP_ID differs",
        Override(attester="turin", report={"chip_id": b"\x01" * 8 + bytes(56)}),
        "snp.chip_id_mismatch",
    ),
    (
        "VLEK report, VCEK certificate",
        Override(attester="milan-vlek", signing_cert="milan", chain="milan"),
        "snp.key_kind_mismatch",
    ),
    ("VCEK report, VLEK certificate", Override(signing_cert="milan-vlek"), "snp.key_kind_mismatch"),
    ("ASK revoked", Override(crl="revokes-ask"), "snp.cert_revoked"),
    ("CRL past nextUpdate", Override(crl="stale"), "snp.crl_stale"),
    ("CRL signed by another ARK", Override(crl="milan-other"), "snp.crl_invalid"),
    ("CRL required, none given", Override(require_crl=True), "snp.crl_required"),
    ("VCEK expired", Override(at=ISSUED_AT.replace(year=2033) + timedelta(seconds=1)), "snp.cert_expired"),
    ("VCEK not yet valid", Override(at=ISSUED_AT - timedelta(seconds=1)), "snp.cert_expired"),
    ("VCEK missing", Override(signing_cert="none"), "collateral.unavailable"),
    ("truncated", Override(raw=lambda b: b[:-1]), "snp.truncated"),
    ("oversized", Override(raw=lambda b: b + b"\x00"), "snp.oversized"),
    ("unknown version", Override(report={"version": 6}), "snp.unknown_version"),
    ("reserved byte set (signed over)", Override(report={"patch": {0x04C: b"\x01"}}), "snp.reserved_nonzero"),
    ("signature padding set", Override(report={"patch": {0x2A0 + 48: b"\x01"}}), "snp.reserved_nonzero"),
]


@pytest.mark.parametrize(("case", "override", "code"), NEGATIVE, ids=[c for c, _, _ in NEGATIVE])
def test_negative(
    attesters: dict[str, SimulatedSnpAttester],
    pki: dict[str, SimulatedAmdAuthority],
    case: str,
    override: Override,
    code: str,
) -> None:
    with pytest.raises(AttestgwError) as info:
        _run(override, attesters, pki)
    assert info.value.code == code, f"{case}: {info.value}"
    expected_class = {
        "collateral.unavailable": CollateralUnavailableError,
        "snp.truncated": FormatError,
        "snp.oversized": FormatError,
        "snp.unknown_version": FormatError,
        "snp.reserved_nonzero": FormatError,
    }.get(code, VerificationError)
    assert isinstance(info.value, expected_class)


def test_every_case_would_pass_without_its_override(
    attesters: dict[str, SimulatedSnpAttester], pki: dict[str, SimulatedAmdAuthority]
) -> None:
    # The baseline each row starts from verifies, so each failure above is caused by its override.
    for name in {override.attester for _, override, _ in NEGATIVE}:
        if name == "genoa-as-milan":
            continue  # inherently inconsistent: that attester exists only for the wrong-product case
        claims = _run(Override(attester=name, crl="fresh", require_crl=True), attesters, pki)
        assert claims.simulated
        assert claims.crl_checked


def test_the_table_covers_every_verification_refusal() -> None:
    covered = {code for _, _, code in NEGATIVE}
    assert covered <= set(CODES)
    assert covered == {
        "collateral.unavailable",
        "snp.cert_expired",
        "snp.cert_revoked",
        "snp.chain_invalid",
        "snp.chip_id_mismatch",
        "snp.crl_invalid",
        "snp.crl_required",
        "snp.crl_stale",
        "snp.key_kind_mismatch",
        "snp.oversized",
        "snp.reserved_nonzero",
        "snp.root_not_pinned",
        "snp.signature_invalid",
        "snp.signature_missing",
        "snp.tcb_mismatch",
        "snp.truncated",
        "snp.unknown_version",
        "snp.wrong_product",
    }
