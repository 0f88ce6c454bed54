"""TDX bundles through ``parse_bundle`` and ``appraise_bundle``: the worker's AttestationService builds
them with the simulated TDX backend; the policy the backend writes affirms them, and every tampering
or missing opt-in is refused with its code (the untouched bundle affirms, so every row can fail)."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest

from attestgw.appraisal import build_ear
from attestgw.attestation import AttestationRefused, appraise_bundle, parse_bundle, parse_bundle_policy
from attestgw.attester.simulated_gpu import SimulatedGpuBackend
from attestgw.clock import utcnow
from attestgw.errors import CollateralUnavailableError, ConfigError, FormatError, VerificationError
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.receipt import instance_digest
from attestgw.worker.attestation import AttestationService
from attestgw.worker.identity import WorkerIdentity
from tests.conftest import REPO
from tests.unit.composite.conftest import CompositeWorker
from tests.unit.composite.tdx_worker import MODEL, TdxWorker, encode, make_tdx_worker

# formats.md §3.2: MRTD sits at body offset 136 (after TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAM and TD
# attributes, XFAM); the v4 header is 48 bytes.
_MRTD_OFFSET = 48 + 136


@pytest.fixture(scope="module")
def tdx() -> TdxWorker:
    return make_tdx_worker()


@pytest.fixture
def nonce() -> bytes:
    return os.urandom(32)


def _flip(b64: str, index: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _refused(data: bytes, nonce: bytes, policy: Any) -> AttestationRefused:
    with pytest.raises(AttestationRefused) as err:
        appraise_bundle(data, nonce, policy, at=utcnow())
    return err.value


def test_the_policy_the_backend_writes_affirms_the_tdx_bundle(tdx: TdxWorker, nonce: bytes) -> None:
    bundle = tdx.bundle(nonce)
    assert bundle["tee"] == "tdx"
    assert bundle["simulated"] is True
    assert bundle["evidence"]["provider"] == "simulated-tdx"
    assert bundle["evidence"]["collateral"]
    assert bundle["evidence"]["event_log"] is None
    appraised = appraise_bundle(encode(bundle), nonce, tdx.policy(), at=utcnow())
    assert appraised.tee == "tdx"
    assert appraised.result.attester == "tdx"
    assert appraised.result.affirming
    assert appraised.simulated
    claims = appraised.tdx_claims
    assert claims is not None
    assert claims.body.mr_td == tdx.backend.attester.td_measurements["mr_td"] == appraised.measurement
    keys = BindingInputs.from_material(nonce, appraised.bundle.ohttp_keys, appraised.bundle.receipt_spki)
    assert claims.body.report_data == report_data(keys)
    # the worker and the client name the same instance (receipts carry it)
    assert appraised.instance_digest.hex() == tdx.identity.evidence_digest
    assert appraised.instance_digest == instance_digest(
        claims.body.mr_td, appraised.bundle.ohttp_keys, appraised.bundle.receipt_spki
    )
    assert tdx.identity.tee == "tdx"
    ear = build_ear(appraised.results, issued_at=appraised.at, nonce=nonce)
    assert set(ear["submods"]) == {"tdx"}
    assert ear["ear_status"] == "affirming"
    with pytest.raises(FormatError) as err:
        _ = appraised.claims  # the SEV-SNP view of a TDX bundle
    assert err.value.code == "bundle.unsupported"


def test_parse_keeps_the_tdx_collateral_and_event_log(tdx: TdxWorker, nonce: bytes) -> None:
    bundle = tdx.bundle(nonce)
    bundle["evidence"]["event_log"] = base64.b64encode(b"log bytes").decode()
    parsed = parse_bundle(encode(bundle))
    assert parsed.tee == "tdx"
    assert parsed.collateral == base64.b64decode(bundle["evidence"]["collateral"])
    assert parsed.event_log == b"log bytes"
    assert parsed.report == base64.b64decode(bundle["evidence"]["report"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: b["evidence"].pop("collateral"), "bundle.malformed"),
        (lambda b: b["evidence"].pop("event_log"), "bundle.malformed"),
        (lambda b: b["evidence"].update(collateral="not base64!"), "bundle.malformed"),
        (lambda b: b.update(tee="sev"), "bundle.unsupported"),
    ],
    ids=["no collateral member", "no event_log member", "collateral not base64", "unknown tee"],
)
def test_malformed_tdx_bundles_are_refused_by_the_parser(
    tdx: TdxWorker, nonce: bytes, change: Any, code: str
) -> None:
    bundle = tdx.bundle(nonce)
    parse_bundle(encode(bundle))  # the untouched bundle parses
    change(bundle)
    with pytest.raises(FormatError) as err:
        parse_bundle(encode(bundle))
    assert err.value.code == code


def test_the_default_snp_policy_refuses_a_tdx_bundle_without_verifying(tdx: TdxWorker, nonce: bytes) -> None:
    default = parse_bundle_policy((REPO / "policies" / "attestation" / "default-snp.toml").read_bytes())
    refused = _refused(encode(tdx.bundle(nonce)), nonce, default)
    assert refused.codes == ("policy.tee_policy_missing",)
    assert refused.result.attester == "tdx"
    assert refused.cpu_claims is None
    assert refused.claims is None


def test_the_default_tdx_policy_does_not_trust_the_simulated_root(tdx: TdxWorker, nonce: bytes) -> None:
    default = parse_bundle_policy((REPO / "policies" / "attestation" / "default-tdx.toml").read_bytes())
    assert default.tdx is not None
    assert default.snp is None
    with pytest.raises(VerificationError) as err:
        appraise_bundle(encode(tdx.bundle(nonce)), nonce, default, at=utcnow())
    assert err.value.code == "tdx.root_not_pinned"


def test_a_tampered_quote_fails_its_signature(tdx: TdxWorker, nonce: bytes) -> None:
    bundle = tdx.bundle(nonce)
    bundle["evidence"]["report"] = _flip(bundle["evidence"]["report"], _MRTD_OFFSET)
    with pytest.raises(VerificationError) as err:
        appraise_bundle(encode(bundle), nonce, tdx.policy(), at=utcnow())
    assert err.value.code == "tdx.quote_signature_invalid"


def test_a_swapped_key_config_fails_the_binding(tdx: TdxWorker, nonce: bytes) -> None:
    other = WorkerIdentity.start(tdx.backend)  # another instance: its own keys
    bundle = tdx.bundle(nonce)
    bundle["ohttp_keys"] = base64.b64encode(other.ohttp_keys).decode()
    refused = _refused(encode(bundle), nonce, tdx.policy())
    assert refused.codes == ("policy.report_data_mismatch",)
    assert refused.tdx_claims is not None  # genuine evidence, refused by the binding rule
    assert refused.claims is None


def test_a_bundle_made_for_another_nonce_fails_the_binding(tdx: TdxWorker, nonce: bytes) -> None:
    bundle = tdx.bundle(os.urandom(32))
    bundle["nonce"] = nonce.hex()  # echo ours, keep the quote bound to the other one
    assert _refused(encode(bundle), nonce, tdx.policy()).codes == ("policy.report_data_mismatch",)
    with pytest.raises(VerificationError) as err:
        appraise_bundle(encode(tdx.bundle(os.urandom(32))), nonce, tdx.policy(), at=utcnow())
    assert err.value.code == "bundle.nonce_mismatch"


def test_every_failed_rule_is_reported(tdx: TdxWorker, nonce: bytes) -> None:
    mrtd = tdx.backend.attester.td_measurements["mr_td"].hex()
    text = tdx.policy_text().replace(mrtd, "ab" * 48)
    policy = parse_bundle_policy(text.encode())
    bundle = tdx.bundle(nonce)
    bundle["receipt_key"]["spki"] = base64.b64encode(WorkerIdentity.start(tdx.backend).receipt_spki).decode()
    refused = _refused(encode(bundle), nonce, policy)
    assert set(refused.codes) == {"policy.mrtd_mismatch", "policy.report_data_mismatch"}
    assert refused.status.value == "contraindicated"


def test_a_policy_that_lists_another_root_refuses(tdx: TdxWorker, nonce: bytes) -> None:
    root = tdx.backend.attester.authority.root_sha256()
    policy = parse_bundle_policy(tdx.policy_text().replace(root, hashlib.sha256(b"x").hexdigest()).encode())
    with pytest.raises(VerificationError) as err:
        appraise_bundle(encode(tdx.bundle(nonce)), nonce, policy, at=utcnow())
    assert err.value.code == "tdx.root_not_pinned"


def test_a_tdx_bundle_without_collateral_is_collateral_unavailable(tdx: TdxWorker, nonce: bytes) -> None:
    bundle = tdx.bundle(nonce)
    bundle["evidence"]["collateral"] = None
    with pytest.raises(CollateralUnavailableError) as err:
        appraise_bundle(encode(bundle), nonce, tdx.policy(), at=utcnow())
    assert err.value.code == "collateral.unavailable"
    assert err.value.exit_code == 3


def test_a_debug_td_is_refused_by_the_written_policy(nonce: bytes) -> None:
    debug = make_tdx_worker(td_attributes=(1 << 28) | 1)
    refused = _refused(encode(debug.bundle(nonce)), nonce, debug.policy())
    assert "policy.debug_allowed" in refused.codes


def test_one_file_for_snp_and_tdx_affirms_both_workers(
    tdx: TdxWorker, worker: CompositeWorker, nonce: bytes
) -> None:
    tdx_text = tdx.policy_text()
    text = worker.cpu.policy_toml() + "\n" + tdx_text[tdx_text.index("[tdx]") :]
    policy = parse_bundle_policy(text.encode(), source="both.toml")
    assert policy.snp is not None
    assert policy.tdx is not None
    assert (
        policy.digest == policy.snp.digest == policy.tdx.digest == hashlib.sha256(text.encode()).hexdigest()
    )
    snp_bundle = AttestationService(worker.identity, worker.cpu, (MODEL,)).bundle(nonce)
    assert appraise_bundle(encode(snp_bundle), nonce, policy, at=utcnow()).tee == "snp"
    assert appraise_bundle(encode(tdx.bundle(nonce)), nonce, policy, at=utcnow()).tee == "tdx"
    # a TDX-only policy refuses the SEV-SNP worker without verifying it
    refused = _refused(encode(snp_bundle), nonce, tdx.policy())
    assert refused.codes == ("policy.tee_policy_missing",)
    assert refused.result.attester == "snp"


def test_tdx_with_simulated_gpus_affirms_with_one_submodule_per_device(tdx: TdxWorker, nonce: bytes) -> None:
    gpus = SimulatedGpuBackend.create(1, enable_simulation=True)
    bundle = tdx.bundle(nonce, gpu=gpus)
    appraised = appraise_bundle(encode(bundle), nonce, tdx.policy(gpus.policy_toml()), at=utcnow())
    assert [r.attester for r in appraised.results] == ["tdx", "nvidia-gpu0"]
    assert all(r.affirming for r in appraised.results)
    # without an [nvidia] section the GPUs are refused, the TDX evidence still judged
    refused = _refused(encode(bundle), nonce, tdx.policy())
    assert refused.codes == ("policy.gpu_policy_missing",)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda t: t.replace("[tdx]", "[tdx]\nmrtdz = []", 1), "tdx.mrtdz"),
        (lambda t: t[: t.index("[tdx]")], "snp"),
    ],
    ids=["typo in [tdx]", "no cpu section"],
)
def test_invalid_tdx_sections_are_refused_naming_the_key(tdx: TdxWorker, edit: Any, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_bundle_policy((edit(tdx.policy_text()) + "\n[nvidia]\nrequire_cc_mode = true\n").encode())
    assert err.value.code == "config.policy_invalid"
    assert where in err.value.message
