"""The simulated TDX backend (a CpuAttester) and the saved simulated Intel authority behind it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from attestgw.attestation import appraise_bundle, parse_bundle_policy
from attestgw.attester.simulated_intel import SimulatedIntelAuthority
from attestgw.attester.simulated_tdx import SimulatedTdxAttester
from attestgw.attester.simulated_tdx_backend import SimulatedTdxBackend
from attestgw.clock import utcnow
from attestgw.errors import ConfigError
from attestgw.evidence.tdx import parse_quote
from attestgw.evidence.tdx_collateral import parse_bundle
from attestgw.verify.tdx import INTEL_TRUST, TdxVerifyOptions, verify_tdx
from attestgw.worker.attestation import AttestationService
from attestgw.worker.identity import WorkerIdentity
from attestgw.worker.settings import ServedModel

MODEL = ServedModel("tiny", "ef" * 32)


@pytest.fixture(autouse=True)
def _no_global_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTESTGW_ALLOW_SIMULATED", raising=False)


def test_the_backend_is_refused_unless_simulation_is_enabled(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        SimulatedTdxBackend.create()
    assert err.value.code == "config.simulation_disabled"
    with pytest.raises(ConfigError) as err:
        SimulatedIntelAuthority.load_or_create(tmp_path / "intel")
    assert err.value.code == "config.simulation_disabled"
    assert not (tmp_path / "intel").exists()


def test_collect_returns_a_simulated_quote_with_its_collateral() -> None:
    backend = SimulatedTdxBackend.create(enable_simulation=True)
    wanted = os.urandom(64)
    evidence = backend.collect(wanted)
    assert (evidence.tee, evidence.provider, evidence.simulated) == ("tdx", "simulated-tdx", True)
    assert evidence.event_log is None
    assert evidence.collateral is not None
    quote = parse_quote(evidence.report)
    assert quote.td_body is not None
    assert quote.td_body.report_data == wanted
    trust = INTEL_TRUST.with_simulated(backend.attester.authority.root_sha256())
    claims = verify_tdx(quote, parse_bundle(evidence.collateral), TdxVerifyOptions(at=utcnow(), trust=trust))
    assert claims.simulated
    with pytest.raises(ValueError, match="64 bytes"):
        backend.collect(wanted[:32])


def test_the_authority_round_trips_through_its_directory(tmp_path: Path) -> None:
    first = SimulatedIntelAuthority.load_or_create(tmp_path / "intel", enable_simulation=True)
    loaded = SimulatedIntelAuthority.load(tmp_path / "intel", enable_simulation=True)
    assert loaded.root_sha256() == first.root_sha256()
    assert loaded.pck_ca_certificate() == first.pck_ca_certificate()
    assert loaded.tcb_signing_certificate() == first.tcb_signing_certificate()
    for role in ("root", "pck_ca", "tcb_signing"):
        assert stat.S_IMODE((tmp_path / "intel" / f"{role}.key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "intel").stat().st_mode) == 0o700
    # the loaded keys sign: a TD on the reloaded authority verifies under the first root
    attester = SimulatedTdxAttester(loaded, enable_simulation=True)
    evidence = attester.quote(bytes(64))
    trust = INTEL_TRUST.with_simulated(first.root_sha256())
    verify_tdx(
        parse_quote(evidence.quote),
        parse_bundle(evidence.collateral),
        TdxVerifyOptions(at=utcnow(), trust=trust),
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "pck_ca.key.pem").unlink(),
        lambda d: (d / "root.key.pem").write_bytes((d / "tcb_signing.key.pem").read_bytes()),
        lambda d: (d / "authority.json").write_text(json.dumps({"format": "something else"})),
        lambda d: (d / "tcb_signing.pem").write_text("not a certificate"),
    ],
    ids=["missing key", "key of another role", "wrong format", "unreadable certificate"],
)
def test_a_damaged_authority_directory_is_refused(tmp_path: Path, damage: object) -> None:
    directory = tmp_path / "intel"
    SimulatedIntelAuthority(enable_simulation=True).save(directory)
    SimulatedIntelAuthority.load(directory, enable_simulation=True)  # intact, it loads
    damage(directory)  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        SimulatedIntelAuthority.load_or_create(directory, enable_simulation=True)
    assert err.value.code == "config.simulated_authority_invalid"


def test_a_restart_with_the_same_directory_keeps_the_policy_affirming(tmp_path: Path) -> None:
    first = SimulatedTdxBackend.create(authority_dir=tmp_path / "intel", enable_simulation=True)
    policy_text = first.policy_toml()
    again = SimulatedTdxBackend.create(authority_dir=tmp_path / "intel", enable_simulation=True)
    assert again.policy_toml() == policy_text
    assert again.attester.pck.certificate != first.attester.pck.certificate  # a new platform key
    identity = WorkerIdentity.start(again)
    nonce = os.urandom(32)
    bundle = AttestationService(identity, again, (MODEL,)).bundle(nonce)
    policy = parse_bundle_policy(policy_text.encode())
    assert appraise_bundle(json.dumps(bundle).encode(), nonce, policy, at=utcnow()).result.affirming
    # throw-away roots: another policy
    assert SimulatedTdxBackend.create(enable_simulation=True).policy_toml() != policy_text
