"""``attestgw verify nvidia`` over the corpus and the simulated GPU: exit codes, JSON shape, codes."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.cli import main
from attestgw.evidence.nvidia import OpaqueType
from tests.conftest import REPO, corpus_file
from tests.integration.cli_nvidia.conftest import CORPUS_AT, N931, run, write_collateral

NOW = datetime(2026, 6, 1, tzinfo=UTC)

#: evidence, chain, nonce, devices — MANIFEST PASS rows in each input form
VALID = [
    ("nvidia/nvtrust/hopperAttestationReport.hex", "nvidia/nvtrust/hopperCertChain.pem", N931, 1),
    (
        "nvidia/nvattest/blackwell_575.32/blackwellAttestationReport.hex",
        "nvidia/nvattest/blackwell_575.32/blackwellCertChain.pem",
        N931,
        1,
    ),
    (
        "nvidia/nvattest/switch_ls10/switchAttestationReport.hex",
        "nvidia/nvattest/switch_ls10/switchCertChain.pem",
        N931,
        1,
    ),
    (
        "nvidia/nvattest/serialized/multi_gpu_hopper.json",
        None,
        "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576",
        4,
    ),
    ("nvidia/nvattest/serialized/multi_switch_ls10.json", None, N931, 4),
]

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize(
    ("evidence", "chain", "nonce", "count"), VALID, ids=[v[0].split("/")[-1] for v in VALID]
)
def test_valid_corpus_samples_verify_and_say_measurements_were_not_compared(
    evidence: str, chain: str | None, nonce: str, count: int
) -> None:
    args = [
        "--evidence",
        str(corpus_file(evidence)),
        "--nonce",
        nonce,
        "--at",
        CORPUS_AT,
        "--allow-unchecked-ocsp",
    ]
    if chain:
        args += ["--certs", str(corpus_file(chain))]
    code, out = run(args)
    assert code == 0, out
    assert out["status"] == "verified"
    assert out["tee"] == "nvidia"
    assert out["appraisal"] is None
    assert len(out["claims"]["devices"]) == count
    assert all(d["nonce_checked"] and not d["measurements_compared"] for d in out["claims"]["devices"])
    assert "not compared" in out["note"]
    assert out["opt_ins"] == ["ocsp_not_required"]


def test_binary_evidence_is_read_like_hex(tmp_path: Path) -> None:
    raw = tmp_path / "report.bin"
    raw.write_bytes(
        bytes.fromhex(corpus_file("nvidia/nvtrust/hopperAttestationReport.hex").read_text().strip())
    )
    code, out = run(
        [
            "--evidence",
            str(raw),
            "--certs",
            str(corpus_file("nvidia/nvtrust/hopperCertChain.pem")),
            "--nonce",
            N931,
            "--at",
            CORPUS_AT,
            "--allow-unchecked-ocsp",
        ]
    )
    assert code == 0, out


def test_without_ocsp_offline_the_collateral_is_unavailable() -> None:
    code, out = run(
        [
            "--evidence",
            str(corpus_file("nvidia/nvtrust/hopperAttestationReport.hex")),
            "--certs",
            str(corpus_file("nvidia/nvtrust/hopperCertChain.pem")),
            "--nonce",
            N931,
            "--at",
            CORPUS_AT,
        ]
    )
    assert code == 3
    assert out["error"]["code"] == "nvidia.ocsp_missing"


def test_without_a_chain_the_collateral_is_unavailable() -> None:
    code, out = run(
        ["--evidence", str(corpus_file("nvidia/nvtrust/hopperAttestationReport.hex")), "--at", CORPUS_AT]
    )
    assert code == 3
    assert out["error"]["code"] == "collateral.unavailable"


@pytest.mark.parametrize(
    ("evidence", "chain", "nonce", "code"),
    [
        (
            "nvidia/nvattest/hopper_invalid_signature/hopperAttestationReportInvalidSignature.hex",
            "nvidia/nvattest/hopper_570.124.03_expired_rim/hopperCertChainExpired.pem",
            N931,
            "nvidia.signature_invalid",
        ),
        (
            "nvidia/nvtrust/hopperAttestationReport.hex",
            "nvidia/nvtrust/hopperCertChain.pem",
            "00" * 32,
            "nvidia.nonce_mismatch",
        ),
        (
            "nvidia/trustee/hopperAttestationReport.hex",
            "nvidia/trustee/hopper_cert_chain_case4_missing_leaf.pem",
            N931,
            "nvidia.chain_invalid",
        ),
    ],
    ids=["invalid signature", "wrong nonce", "missing leaf"],
)
def test_broken_corpus_samples_are_refused_with_their_code(
    evidence: str, chain: str, nonce: str, code: str
) -> None:
    exit_code, out = run(
        [
            "--evidence",
            str(corpus_file(evidence)),
            "--certs",
            str(corpus_file(chain)),
            "--nonce",
            nonce,
            "--at",
            CORPUS_AT,
            "--allow-unchecked-ocsp",
        ]
    )
    assert exit_code == 1
    assert out["status"] == "contraindicated"
    assert out["error"]["code"] == code


def test_bundled_rims_report_the_differing_indices(tmp_path: Path) -> None:
    rims = tmp_path / "rims"
    rims.mkdir()
    rim = "nvidia/nvattest/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"
    (rims / "vbios.xml").write_bytes(corpus_file(rim).read_bytes())
    code, out = run(
        [
            "--evidence",
            str(corpus_file("nvidia/nvattest/hopper_535.86.09/hopperAttestationReport.hex")),
            "--certs",
            str(corpus_file("nvidia/nvattest/hopper_535.86.09/hopperCertChain.pem")),
            "--rims",
            str(rims),
            "--at",
            CORPUS_AT,
            "--allow-unchecked-ocsp",
        ]
    )
    assert code == 0, out
    (device,) = out["claims"]["devices"]
    assert device["measurements_compared"]
    assert device["mismatched_indices"] == [9]
    assert "note" not in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--nonce", "xyz"], "usage.invalid"),
        (["--nonce", "00" * 31], "usage.invalid"),
        (["--at", "yesterday"], "usage.invalid"),
        (["--rims", "/nonexistent/dir"], "input.unreadable"),
    ],
    ids=["nonce not hex", "nonce short", "bad time", "no rim dir"],
)
def test_usage_errors_exit_2(args: list[str], code: str) -> None:
    exit_code, out = run(
        ["--evidence", str(corpus_file("nvidia/nvtrust/hopperAttestationReport.hex")), *args]
    )
    assert exit_code == 2
    assert out["error"]["code"] == code


def test_unreadable_evidence_and_invalid_policy_exit_2(tmp_path: Path) -> None:
    code, out = run(["--evidence", str(tmp_path / "missing.hex")])
    assert (code, out["error"]["code"]) == (2, "input.unreadable")
    bad = tmp_path / "policy.toml"
    bad.write_text('[policy]\nid = "x"\nversion = "1"\n[nvidia]\nrequire_cc_mod = true\n')
    code, out = run(
        ["--evidence", str(corpus_file("nvidia/nvtrust/hopperAttestationReport.hex")), "--policy", str(bad)]
    )
    assert (code, out["error"]["code"]) == (2, "config.policy_invalid")


def _policy(tmp: Path, gpu: SimulatedNvidiaGpu) -> Path:
    text = (REPO / "policies" / "attestation" / "default-nvidia.toml").read_text()
    roots = f'trust_simulated_roots = ["{gpu.device_root_sha256}", "{gpu.rim_root_sha256}"]'
    path = tmp / "nvidia.toml"
    path.write_text(text.replace("trust_simulated_roots = []", roots))
    return path


def _simulated_args(tmp: Path, gpu: SimulatedNvidiaGpu, nonce: bytes, **kwargs: object) -> list[str]:
    evidence = tmp / "evidence.json"
    evidence.write_bytes(gpu.serialized(nonce, **kwargs))  # type: ignore[arg-type]
    rims, ocsp = write_collateral(tmp, gpu, gpu.ocsp_responses(NOW))
    return [
        "--evidence",
        str(evidence),
        "--rims",
        str(rims),
        "--ocsp",
        str(ocsp),
        "--nonce",
        nonce.hex(),
        "--policy",
        str(_policy(tmp, gpu)),
        "--at",
        NOW.isoformat(),
        "--nonce-issued-at",
        NOW.isoformat(),
    ]


def test_simulated_gpu_with_full_collateral_affirms(tmp_path: Path, gpu: SimulatedNvidiaGpu) -> None:
    code, out = run(_simulated_args(tmp_path, gpu, os.urandom(32)))
    assert code == 0, out
    assert out["status"] == "affirming"
    assert out["simulated"] is True
    assert [r["attester"] for r in out["results"]] == ["nvidia-gpu0"]
    assert out["claims"]["devices"][0]["ocsp_checked"] is True


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"cc_mode": "devtools"}, "policy.gpu_devtools_on"),
        ({"cc_mode": None}, "policy.gpu_cc_mode_off"),
        ({"measurements": {9: bytes(48)}}, "policy.gpu_measurement_mismatch"),
        ({"opaque": {OpaqueType.DRIVER_VERSION: b"535.1.1\x00"}}, "nvidia.version_mismatch"),
    ],
    ids=["devtools", "cc mode unreported", "measurement changed", "driver mismatch"],
)
def test_simulated_gpu_refusals_exit_1_with_their_code(
    tmp_path: Path, gpu: SimulatedNvidiaGpu, kwargs: dict[str, object], code: str
) -> None:
    exit_code, out = run(_simulated_args(tmp_path, gpu, os.urandom(32), **kwargs))
    assert exit_code == 1
    codes = [f["code"] for f in out["failures"]]
    assert code in codes, out
    if code.startswith("policy."):
        assert any(f["rule"].startswith("nvidia-gpu0: ") for f in out["failures"])


def test_evidence_age_is_unknown_without_the_nonce_issue_time(
    tmp_path: Path, gpu: SimulatedNvidiaGpu
) -> None:
    args = _simulated_args(tmp_path, gpu, os.urandom(32))
    args = args[: args.index("--nonce-issued-at")]
    exit_code, out = run(args)
    assert exit_code == 1
    assert [f["code"] for f in out["failures"]] == ["policy.gpu_evidence_too_old"]


def test_the_readable_summary_lists_devices(tmp_path: Path, gpu: SimulatedNvidiaGpu) -> None:
    result = CliRunner().invoke(main, ["verify", "nvidia", *_simulated_args(tmp_path, gpu, os.urandom(32))])
    assert result.exit_code == 0, result.output
    assert "AFFIRMING" in result.output
    assert "device 0" in result.output
    assert "HOPPER" in result.output
