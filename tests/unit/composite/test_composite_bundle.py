"""Composite bundles end to end through ``appraise_bundle``: the worker's AttestationService builds them
with simulated CPU and GPU evidence; every tampering is refused with its code, the untouched bundle
affirms (so every row can fail)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from attestgw.appraisal import build_ear
from attestgw.attestation import AttestationRefused, appraise_bundle, parse_bundle
from attestgw.attester.simulated_gpu import SimulatedGpuBackend
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError, VerificationError
from attestgw.evidence.binding import BindingInputs, gpu_evidence_digest, gpu_nonce
from attestgw.worker.attestation import AttestationService
from attestgw.worker.identity import WorkerIdentity
from tests.unit.composite.conftest import MODEL, CompositeWorker, NonceOverride, encode, make_worker

BROM = "GH100 A01 GSP BROM"


def test_composite_bundle_affirms_with_one_submodule_per_device(
    worker: CompositeWorker, nonce: bytes
) -> None:
    bundle = worker.bundle(nonce)
    assert len(bundle["gpu_evidence"]) == 1
    assert bundle["gpu_collateral"]["rims"]
    assert bundle["gpu_collateral"]["ocsp"]
    appraised = appraise_bundle(encode(bundle), nonce, worker.policy(), at=utcnow())
    assert [r.attester for r in appraised.results] == ["snp", "nvidia-gpu0"]
    assert all(r.affirming for r in appraised.results)
    assert appraised.simulated
    (claims,) = appraised.gpu_claims
    assert claims.nonce_checked
    assert claims.ocsp_checked
    assert claims.comparison is not None
    assert claims.comparison.matched
    keys = BindingInputs.from_material(nonce, appraised.bundle.ohttp_keys, appraised.bundle.receipt_spki)
    assert claims.nonce == gpu_nonce(keys)
    ear = build_ear(appraised.results, issued_at=appraised.at, nonce=nonce)
    assert set(ear["submods"]) == {"snp", "nvidia-gpu0"}
    assert ear["ear_status"] == "affirming"


def test_two_gpus_each_get_a_result(nonce: bytes) -> None:
    two = make_worker(gpu_count=2)
    appraised = appraise_bundle(encode(two.bundle(nonce)), nonce, two.policy(), at=utcnow())
    assert [r.attester for r in appraised.results] == ["snp", "nvidia-gpu0", "nvidia-gpu1"]
    assert all(r.affirming for r in appraised.results)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _recollected(w: CompositeWorker, nonce: bytes) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Fresh, validly signed GPU evidence for the right nonce, that REPORT_DATA does not commit to."""

    def edit(bundle: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_bundle(encode(bundle))
        inputs = BindingInputs.from_material(nonce, parsed.ohttp_keys, parsed.receipt_spki)
        bundle["gpu_evidence"] = [_b64(b) for b in w.gpus.collect(gpu_nonce(inputs))]
        return bundle

    return edit


def _swapped(w: CompositeWorker, nonce: bytes) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The GPU evidence another worker (other keys, same GPU) produced for the same nonce."""
    other = CompositeWorker(w.cpu, w.gpus, WorkerIdentity.start(w.cpu))

    def edit(bundle: dict[str, Any]) -> dict[str, Any]:
        theirs = other.bundle(nonce)
        bundle["gpu_evidence"] = theirs["gpu_evidence"]
        return bundle

    return edit


def _with_gpu(w: CompositeWorker, **options: Any) -> SimulatedGpuBackend:
    return SimulatedGpuBackend(w.gpus.gpus, enable_simulation=True, **options)


#: case → (how the bundle is made: GPU attester override and/or an edit of the JSON, code)
CASES: dict[str, tuple[Callable[[CompositeWorker, bytes], dict[str, Any]], str]] = {
    "wrong_nonce": (
        lambda w, n: w.bundle(n, NonceOverride(w.gpus, lambda _: bytes(32))),
        "nvidia.nonce_mismatch",
    ),
    "cpu_not_committing_to_gpu_digest": (
        lambda w, n: _recollected(w, n)(w.bundle(n)),
        "policy.report_data_mismatch",
    ),
    "gpu_evidence_from_another_worker": (
        lambda w, n: _swapped(w, n)(w.bundle(n)),
        "nvidia.nonce_mismatch",
    ),
    "revoked_device_cert": (
        lambda w, n: w.bundle(n, _with_gpu(w, ocsp={"revoked": (BROM,)})),
        "nvidia.cert_revoked",
    ),
    "stale_ocsp": (lambda w, n: w.bundle(n, _with_gpu(w, ocsp={"stale": (BROM,)})), "nvidia.ocsp_stale"),
    "devtools_mode_on": (
        lambda w, n: w.bundle(n, _with_gpu(w, cc_mode="devtools")),
        "policy.gpu_devtools_on",
    ),
    "cc_mode_off": (lambda w, n: w.bundle(n, _with_gpu(w, cc_mode="off")), "policy.gpu_cc_mode_off"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_composite_bundles_are_refused_with_their_code(
    case: str, worker: CompositeWorker, nonce: bytes
) -> None:
    make, code = CASES[case]
    with pytest.raises(AttestgwError) as err:
        appraise_bundle(encode(make(worker, nonce)), nonce, worker.policy(), at=utcnow())
    codes = err.value.codes if isinstance(err.value, AttestationRefused) else (err.value.code,)
    assert code in codes, (case, codes, err.value)


def test_the_cpu_digest_is_over_the_exact_gpu_evidence_bytes(worker: CompositeWorker, nonce: bytes) -> None:
    bundle = worker.bundle(nonce)
    blobs = [base64.b64decode(b) for b in bundle["gpu_evidence"]]
    parsed = parse_bundle(encode(bundle))
    assert parsed.gpu_evidence == tuple(blobs)
    # the same JSON, re-serialized with another key order, no longer matches the CPU's commitment
    reordered = [json.dumps(dict(reversed(json.loads(b).items()))).encode() for b in blobs]
    assert gpu_evidence_digest(reordered) != gpu_evidence_digest(blobs)
    bundle["gpu_evidence"] = [_b64(b) for b in reordered]
    with pytest.raises(AttestationRefused) as err:
        appraise_bundle(encode(bundle), nonce, worker.policy(), at=utcnow())
    assert "policy.report_data_mismatch" in err.value.codes


def test_a_policy_without_a_gpu_section_refuses_gpu_evidence(worker: CompositeWorker, nonce: bytes) -> None:
    with pytest.raises(AttestationRefused) as err:
        appraise_bundle(encode(worker.bundle(nonce)), nonce, worker.policy(gpu_section=""), at=utcnow())
    assert err.value.codes == ("policy.gpu_policy_missing",)
    assert err.value.status.value == "contraindicated"
    assert err.value.result.affirming  # the CPU alone was fine: the GPU decided


def test_simulated_gpu_roots_need_an_explicit_opt_in(worker: CompositeWorker, nonce: bytes) -> None:
    untrusting = worker.gpus.policy_toml().replace(
        worker.gpus.policy_toml().splitlines()[-1], "trust_simulated_roots = []"
    )
    with pytest.raises(VerificationError) as err:
        appraise_bundle(encode(worker.bundle(nonce)), nonce, worker.policy(untrusting), at=utcnow())
    assert err.value.code == "nvidia.root_not_pinned"


def test_bundles_without_gpus_are_unchanged(worker: CompositeWorker, nonce: bytes) -> None:
    bundle = AttestationService(worker.identity, worker.cpu, (MODEL,)).bundle(nonce)
    assert bundle["gpu_evidence"] is None
    assert bundle["gpu_collateral"] is None
    appraised = appraise_bundle(encode(bundle), nonce, worker.policy(), at=utcnow())
    assert appraised.gpu_results == ()
    assert [r.attester for r in appraised.results] == ["snp"]
