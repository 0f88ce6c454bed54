"""The simulated SEV-SNP backend: opt-in only, real evidence, and the policy that trusts exactly it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestgw.appraisal import appraise_snp, load_policy, parse_policy
from attestgw.attester.base import CpuAttester
from attestgw.attester.simulated_backend import SIMULATED_PROVIDER, SimulatedSnpBackend
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.errors import ConfigError, VerificationError
from attestgw.evidence.snp import Product, parse_report
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from tests.conftest import REPO

REPORT_DATA = bytes(range(64, 128))


def _verify(backend: SimulatedSnpBackend, report_data: bytes, *, trust_simulated: bool) -> VerifiedSnpClaims:
    evidence = backend.collect(report_data)
    authority = backend.attester.authority
    trust = (
        AMD_TRUST.with_simulated(authority.product, authority.ark_sha256()) if trust_simulated else AMD_TRUST
    )
    return verify_snp(
        parse_report(evidence.report),
        SnpCollateral(signing_cert=evidence.signing_cert, chain=evidence.chain),
        SnpVerifyOptions(at=datetime.now(UTC), trust=trust),
    )


def test_refused_unless_simulation_is_enabled(
    guest: SimulatedSnpAttester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATTESTGW_ALLOW_SIMULATED", raising=False)
    with pytest.raises(ConfigError) as info:
        SimulatedSnpBackend(guest)
    assert info.value.code == "config.simulation_disabled"
    with pytest.raises(ConfigError) as info:
        SimulatedSnpBackend.create()
    assert info.value.code == "config.simulation_disabled"


def test_evidence_is_marked_simulated_and_complete(guest: SimulatedSnpAttester) -> None:
    backend = SimulatedSnpBackend(guest, enable_simulation=True)
    assert isinstance(backend, CpuAttester)
    evidence = backend.collect(REPORT_DATA)
    assert evidence.simulated
    assert evidence.tee == "snp"
    assert evidence.provider == SIMULATED_PROVIDER
    assert evidence.generation is None
    assert evidence.cert_table == guest.cert_table()
    assert parse_report(evidence.report).report_data == REPORT_DATA


def test_policy_affirms_exactly_this_simulated_worker(guest: SimulatedSnpAttester) -> None:
    backend = SimulatedSnpBackend(guest, enable_simulation=True)
    policy = parse_policy(backend.policy_toml().encode(), source="policy.toml")
    result = appraise_snp(_verify(backend, REPORT_DATA, trust_simulated=True), policy)
    assert result.affirming, [f.as_dict() for f in result.failures]
    assert result.simulated
    assert "trust_simulated_roots" in result.opt_ins

    # Same roots, another measurement: the policy pins this worker's measurement.
    other = SimulatedSnpBackend(
        SimulatedSnpAttester(guest.authority, measurement=b"\x01" * 48, enable_simulation=True),
        enable_simulation=True,
    )
    refused = appraise_snp(_verify(other, REPORT_DATA, trust_simulated=True), policy)
    assert not refused.affirming
    assert "policy.measurement_mismatch" in {f.code for f in refused.failures}


def test_default_policy_refuses_the_simulated_worker(guest: SimulatedSnpAttester) -> None:
    backend = SimulatedSnpBackend(guest, enable_simulation=True)
    # Production trust roots alone do not even verify it...
    with pytest.raises(VerificationError) as info:
        _verify(backend, REPORT_DATA, trust_simulated=False)
    assert info.value.code == "snp.root_not_pinned"
    # ...and a policy that does not list the simulated root refuses it.
    default = load_policy(REPO / "policies" / "attestation" / "default-snp.toml")
    result = appraise_snp(_verify(backend, REPORT_DATA, trust_simulated=True), default)
    assert not result.affirming
    assert "policy.simulated_root" in {f.code for f in result.failures}


def test_authority_dir_keeps_the_roots_across_restarts(tmp_path: Path) -> None:
    first = SimulatedSnpBackend.create(authority_dir=tmp_path / "amd", enable_simulation=True)
    second = SimulatedSnpBackend.create(authority_dir=tmp_path / "amd", enable_simulation=True)
    assert first.attester.authority.ark_sha256() == second.attester.authority.ark_sha256()
    assert first.attester.chip_id != second.attester.chip_id  # a new chip (and VCEK) every start
    assert first.policy_toml() == second.policy_toml()
    # A policy written before the restart still affirms the restarted worker.
    policy = parse_policy(first.policy_toml().encode(), source="policy.toml")
    assert appraise_snp(_verify(second, REPORT_DATA, trust_simulated=True), policy).affirming
    assert second.attester.authority.product is Product.GENOA
