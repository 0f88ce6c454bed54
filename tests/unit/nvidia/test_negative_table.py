"""Negative tables with the simulated GPU: each override is refused with its code, and the
untouched evidence verifies and appraises as affirming (so every row can fail)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from attestgw.appraisal._nvidia_policy import load_gpu_policy
from attestgw.appraisal.nvidia import appraise_gpus
from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.errors import AttestgwError, CollateralUnavailableError, ConfigError
from attestgw.evidence.binding import BindingInputs, gpu_nonce
from attestgw.evidence.nvidia import OpaqueType, parse_gpu_evidence
from attestgw.verify.nvidia import GpuCollateral, OcspSettings, VerifiedGpuClaims, verify_gpus
from tests.conftest import REPO
from tests.unit.nvidia.conftest import AT, options

BROM, IDENTITY, SIGNER = "GH100 A01 GSP BROM", "NVIDIA GH100 Identity", "HCC RIM L4 Signer"


def _collateral(gpu: SimulatedNvidiaGpu, **ocsp: Any) -> GpuCollateral:
    return GpuCollateral(
        rims=(gpu.driver_rim(), gpu.vbios_rim()), ocsp_responses=gpu.ocsp_responses(AT, **ocsp)
    )


def _run(
    gpu: SimulatedNvidiaGpu, evidence: bytes, collateral: GpuCollateral, nonce: bytes, **opts: Any
) -> tuple[VerifiedGpuClaims, ...]:
    return verify_gpus(parse_gpu_evidence(evidence), collateral, options(gpu, nonce, **opts))


def _policy(gpu: SimulatedNvidiaGpu) -> Any:
    policy = load_gpu_policy(REPO / "policies" / "attestation" / "default-nvidia.toml")
    return dataclasses.replace(policy, trust_simulated_roots=(gpu.device_root_sha256, gpu.rim_root_sha256))


def test_simulation_is_refused_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTESTGW_ALLOW_SIMULATED", raising=False)
    with pytest.raises(ConfigError):
        SimulatedNvidiaGpu()


def test_baseline_verifies_and_affirms(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    (claims,) = _run(gpu, gpu.serialized(nonce), _collateral(gpu), nonce)
    assert claims.simulated
    assert claims.ocsp_checked
    assert claims.comparison is not None
    assert claims.comparison.matched
    (result,) = appraise_gpus([claims], _policy(gpu), nonce_issued_at=AT - timedelta(seconds=10))
    assert result.affirming, result.failures
    assert result.attester == "nvidia-gpu0"


VERIFY_CASES: dict[
    str, tuple[Callable[[SimulatedNvidiaGpu, bytes], tuple[bytes, GpuCollateral, dict[str, Any]]], str]
] = {
    "wrong_nonce": (lambda g, n: (g.serialized(bytes(32)), _collateral(g), {}), "nvidia.nonce_mismatch"),
    "broken_signature": (
        lambda g, n: (g.serialized(n, break_signature=True), _collateral(g), {}),
        "nvidia.signature_invalid",
    ),
    "fwid_changed": (
        lambda g, n: (g.serialized(n, opaque={OpaqueType.FWID: bytes(48)}), _collateral(g), {}),
        "nvidia.fwid_mismatch",
    ),
    "revoked_device_cert": (
        lambda g, n: (g.serialized(n), _collateral(g, revoked=(BROM,)), {}),
        "nvidia.cert_revoked",
    ),
    "revoked_rim_signer": (
        lambda g, n: (g.serialized(n), _collateral(g, revoked=(SIGNER,)), {}),
        "nvidia.cert_revoked",
    ),
    "hold_without_opt_in": (
        lambda g, n: (g.serialized(n), _collateral(g, hold=(IDENTITY,)), {}),
        "nvidia.cert_revoked",
    ),
    "stale_ocsp": (
        lambda g, n: (g.serialized(n), _collateral(g, stale=(IDENTITY,)), {}),
        "nvidia.ocsp_stale",
    ),
    "unknown_ocsp": (
        lambda g, n: (g.serialized(n), _collateral(g, unknown=(BROM,)), {}),
        "nvidia.ocsp_unknown",
    ),
    "missing_ocsp": (
        lambda g, n: (g.serialized(n), GpuCollateral(rims=(g.driver_rim(),)), {}),
        "nvidia.ocsp_missing",
    ),
    "rim_conflict": (
        lambda g, n: (
            g.serialized(n),
            GpuCollateral(
                rims=(g.driver_rim(golden={0: (bytes(48),)}), g.vbios_rim()),
                ocsp_responses=g.ocsp_responses(AT),
            ),
            {},
        ),
        "nvidia.rim_conflict",
    ),
}


@pytest.mark.parametrize("case", sorted(VERIFY_CASES))
def test_verification_refuses(gpu: SimulatedNvidiaGpu, nonce: bytes, case: str) -> None:
    build, code = VERIFY_CASES[case]
    evidence, collateral, opts = build(gpu, nonce)
    with pytest.raises(AttestgwError) as err:
        _run(gpu, evidence, collateral, nonce, **opts)
    assert err.value.code == code


def test_missing_ocsp_is_collateral_unavailable(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    with pytest.raises(CollateralUnavailableError):
        _run(gpu, gpu.serialized(nonce), GpuCollateral(), nonce)


def test_stale_ocsp_within_grace_passes_and_is_recorded(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    settings = OcspSettings(grace=timedelta(days=8))
    (claims,) = _run(gpu, gpu.serialized(nonce), _collateral(gpu, stale=(IDENTITY,)), nonce, ocsp=settings)
    assert claims.ocsp_opt_ins == ("ocsp_grace_seconds=691200",)


def test_certificate_hold_passes_only_by_opt_in(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    settings = OcspSettings(allow_certificate_hold=True)
    (claims,) = _run(gpu, gpu.serialized(nonce), _collateral(gpu, hold=(IDENTITY,)), nonce, ocsp=settings)
    assert claims.device_ocsp.on_hold == (IDENTITY,)
    assert claims.device_ocsp.warnings


def test_swapped_evidence_from_another_gpu_is_refused(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    other = SimulatedNvidiaGpu(enable_simulation=True)
    foreign = other.evidence(nonce)  # another GPU's report presented with this GPU's chain
    with pytest.raises(AttestgwError) as err:
        verify_gpus(
            parse_gpu_evidence(foreign),
            GpuCollateral(
                certificate_chain=gpu.certificate_chain_pem,
                rims=(gpu.driver_rim(), gpu.vbios_rim()),
                ocsp_responses=gpu.ocsp_responses(AT),
            ),
            options(gpu, nonce),
        )
    assert err.value.code == "nvidia.signature_invalid"


def test_evidence_for_another_binding_is_refused(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    ours = BindingInputs(nonce, bytes(32), bytes(32))
    theirs = BindingInputs(nonce, bytes(32), b"\x01" * 32)  # another worker's receipt key
    evidence = gpu.serialized(gpu_nonce(theirs))
    with pytest.raises(AttestgwError) as err:
        _run(gpu, evidence, _collateral(gpu), gpu_nonce(ours))
    assert err.value.code == "nvidia.nonce_mismatch"


APPRAISAL_CASES = {
    "devtools_mode": ({"cc_mode": "devtools"}, {}, "policy.gpu_devtools_on"),
    "cc_mode_off": ({"cc_mode": "off"}, {}, "policy.gpu_cc_mode_off"),
    "cc_mode_unreported": ({"cc_mode": None}, {}, "policy.gpu_cc_mode_off"),
    "measurement_changed": ({"measurements": {9: bytes(48)}}, {}, "policy.gpu_measurement_mismatch"),
    "driver_below_minimum": ({}, {"minimum_driver_version": "999.0"}, "policy.gpu_driver_below_minimum"),
    "arch_not_allowed": ({}, {"allowed_architectures": ()}, "policy.gpu_arch_not_allowed"),
    "simulated_root_untrusted": ({}, {"trust_simulated_roots": ()}, "policy.simulated_root"),
    "evidence_too_old": ({}, {"max_evidence_age": timedelta(seconds=1)}, "policy.gpu_evidence_too_old"),
    "count_mismatch": ({}, {"expected_device_count": 2}, "policy.gpu_count_mismatch"),
}


@pytest.mark.parametrize("case", sorted(APPRAISAL_CASES))
def test_appraisal_refuses(gpu: SimulatedNvidiaGpu, nonce: bytes, case: str) -> None:
    evidence_kwargs, policy_changes, code = APPRAISAL_CASES[case]
    (claims,) = _run(gpu, gpu.serialized(nonce, **evidence_kwargs), _collateral(gpu), nonce)
    policy = dataclasses.replace(_policy(gpu), **policy_changes)
    (result,) = appraise_gpus([claims], policy, nonce_issued_at=AT - timedelta(seconds=10))
    assert not result.affirming
    assert code in result.codes


def test_measurement_mismatch_names_the_index(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    (claims,) = _run(
        gpu, gpu.serialized(nonce, measurements={9: bytes(48), 30: bytes(48)}), _collateral(gpu), nonce
    )
    assert claims.comparison is not None
    assert claims.comparison.mismatched_indices == (9, 30)
    tolerant = dataclasses.replace(_policy(gpu), tolerated_indices=(9, 30))
    (result,) = appraise_gpus([claims], tolerant, nonce_issued_at=AT)
    assert result.status.value == "warning"
    assert "tolerated_indices" in result.opt_ins


def test_nonce_not_checked_fails_appraisal(gpu: SimulatedNvidiaGpu, nonce: bytes) -> None:
    (claims,) = verify_gpus(parse_gpu_evidence(gpu.serialized(nonce)), _collateral(gpu), options(gpu, None))
    (result,) = appraise_gpus([claims], _policy(gpu), nonce_issued_at=AT)
    assert "policy.gpu_nonce_unchecked" in result.codes
