"""The `attestgw verify snp` contract: exit codes, JSON shape, policy appraisal and EAR output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attestgw.appraisal import verify_ear_jwt
from attestgw.attester.simulated_amd import SimulatedAmdAuthority
from attestgw.attester.simulated_snp import SimulatedEvidence, SimulatedSnpAttester
from attestgw.cli import main
from attestgw.crypto.keys import generate_p256_key, private_key_to_pem
from attestgw.evidence.snp import Product
from tests.conftest import corpus_file

GENOA = (
    "snp/oak/genoa_oc_report.bin",
    "snp/oak/genoa_oc_vcek.der",
    "snp/amd-roots/ask_ark_genoa.pem",
)
AT = "2025-10-01T08:00:00Z"


def run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["verify", "snp", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "kds-cache")


def test_real_genoa_report_verifies_without_policy(cache: str) -> None:
    report, vcek, chain = (str(corpus_file(p)) for p in GENOA)
    code, out = run("--report", report, "--vcek", vcek, "--chain", chain, "--at", AT, "--cache-dir", cache)
    assert code == 0
    assert out["status"] == "verified"
    assert out["appraisal"] is None
    assert out["tee"] == "snp"
    assert out["simulated"] is False
    claims = out["claims"]
    assert claims["product"] == "Genoa"
    assert claims["signing_key"] == "vcek"
    assert len(claims["measurement"]) == 96
    assert claims["measurement"] == claims["measurement"].lower()
    assert claims["reported_tcb"]["raw"] == "541900000000000a"
    assert claims["policy"]["debug_allowed"] is False
    assert out["failures"] == []


def test_human_output_says_no_appraisal_was_made(cache: str) -> None:
    report, vcek, chain = (str(corpus_file(p)) for p in GENOA)
    result = CliRunner().invoke(
        main,
        [
            "verify",
            "snp",
            "--report",
            report,
            "--vcek",
            vcek,
            "--chain",
            chain,
            "--at",
            AT,
            "--cache-dir",
            cache,
        ],
    )
    assert result.exit_code == 0
    assert "VERIFIED" in result.output
    assert "no appraisal was made" in result.output


def test_tampered_report_exits_1_with_code(tmp_path: Path, cache: str) -> None:
    report, vcek, chain = (corpus_file(p) for p in GENOA)
    bad = bytearray(report.read_bytes())
    bad[0x90] ^= 1
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(bytes(bad))
    code, out = run(
        "--report",
        str(tampered),
        "--vcek",
        str(vcek),
        "--chain",
        str(chain),
        "--at",
        AT,
        "--cache-dir",
        cache,
    )
    assert code == 1
    assert out["status"] == "contraindicated"
    assert out["error"]["code"] == "snp.signature_invalid"


def test_report_without_signing_key_offline_exits_3(cache: str) -> None:
    report = corpus_file("snp/tinfoil/tinfoil_sev_report.bin")
    code, out = run("--report", str(report), "--at", AT, "--cache-dir", cache)
    assert code == 3
    assert out["error"]["code"] == "collateral.unavailable"
    assert out["status"] == "none"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--report", "/nonexistent/report.bin"], "input.unreadable"),
        (["--report", "{report}", "--at", "yesterday"], "usage.invalid"),
        (["--report", "{report}", "--report-data", "zz"], "usage.invalid"),
        (["--report", "{report}", "--ear-out", "x.jwt"], "usage.invalid"),
    ],
)
def test_usage_errors_exit_2(args: list[str], code: str, tmp_path: Path, cache: str) -> None:
    report = tmp_path / "r.bin"
    report.write_bytes(bytes(10))
    code_, out = run(*[a.format(report=report) for a in args], "--cache-dir", cache)
    assert code_ == 2
    assert out["error"]["code"] == code


def test_truncated_report_exits_1_with_format_code(tmp_path: Path, cache: str) -> None:
    report = tmp_path / "short.bin"
    report.write_bytes(bytes(100))
    code, out = run("--report", str(report), "--cache-dir", cache)
    assert code == 1
    assert out["error"]["code"] == "snp.truncated"


def test_missing_required_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["verify", "snp"])
    assert result.exit_code == 2


# -- simulated evidence, with a policy and a signed EAR ------------------------------------------


@pytest.fixture(scope="module")
def worker() -> SimulatedSnpAttester:
    authority = SimulatedAmdAuthority(Product.MILAN, enable_simulation=True)
    return SimulatedSnpAttester(authority, enable_simulation=True)


def _write_evidence(tmp_path: Path, evidence: SimulatedEvidence) -> tuple[str, str, str]:
    (tmp_path / "report.bin").write_bytes(evidence.report)
    (tmp_path / "vcek.der").write_bytes(evidence.signing_cert)
    (tmp_path / "chain.pem").write_bytes(evidence.chain)
    return str(tmp_path / "report.bin"), str(tmp_path / "vcek.der"), str(tmp_path / "chain.pem")


def _policy(tmp_path: Path, worker: SimulatedSnpAttester, trust: bool) -> str:
    tcb = "\n".join(f"{k} = {v}" for k, v in worker.tcb.items())
    roots = f'["{worker.authority.ark_sha256()}"]' if trust else "[]"
    text = f"""
[policy]
id = "test-simulated"
version = 1

[snp]
measurements = ["{worker.measurement.hex()}"]
trust_simulated_roots = {roots}

[snp.minimum_tcb]
{tcb}
"""
    path = tmp_path / f"policy-{trust}.toml"
    path.write_text(text)
    return str(path)


def test_simulated_report_affirms_with_a_trusting_policy_and_writes_a_verifiable_ear(
    tmp_path: Path, worker: SimulatedSnpAttester, cache: str
) -> None:
    nonce = bytes(range(64))
    report, vcek, chain = _write_evidence(tmp_path, worker.report(nonce))
    key = generate_p256_key()
    (tmp_path / "ear.pem").write_bytes(private_key_to_pem(key))
    code, out = run(
        "--report", report, "--vcek", vcek, "--chain", chain, "--cache-dir", cache,
        "--policy", _policy(tmp_path, worker, trust=True), "--report-data", nonce.hex(),
        "--ear-out", str(tmp_path / "ear.jwt"), "--ear-key", str(tmp_path / "ear.pem"),
    )  # fmt: skip
    assert code == 0, out
    assert out["status"] == "affirming"
    assert out["simulated"] is True
    assert "trust_simulated_roots" in out["opt_ins"]
    assert out["appraisal"].startswith("attestgw:policy:test-simulated:")
    token = (tmp_path / "ear.jwt").read_text().strip()
    ear = verify_ear_jwt(token, key.public_key())
    assert ear.claims["ear_status"] == "affirming"
    assert ear.claims["submods"]["snp"]["ear_status"] == "affirming"


def test_simulated_report_refused_under_a_policy_that_does_not_trust_the_root(
    tmp_path: Path, worker: SimulatedSnpAttester, cache: str
) -> None:
    report, vcek, chain = _write_evidence(tmp_path, worker.report(bytes(64)))
    code, out = run("--report", report, "--vcek", vcek, "--chain", chain, "--cache-dir", cache,
                    "--policy", _policy(tmp_path, worker, trust=False))  # fmt: skip
    assert code == 1
    assert out["error"]["code"] == "snp.root_not_pinned"


def test_policy_failures_are_all_listed(tmp_path: Path, worker: SimulatedSnpAttester, cache: str) -> None:
    evidence = worker.report(bytes(64), debug=True, vmpl=2)
    report, vcek, chain = _write_evidence(tmp_path, evidence)
    code, out = run("--report", report, "--vcek", vcek, "--chain", chain, "--cache-dir", cache,
                    "--policy", _policy(tmp_path, worker, trust=True), "--report-data", "ff")  # fmt: skip
    assert code == 1
    assert out["status"] == "contraindicated"
    codes = {f["code"] for f in out["failures"]}
    assert {"policy.debug_allowed", "policy.vmpl_not_allowed", "policy.report_data_mismatch"} <= codes
    for failure in out["failures"]:
        assert set(failure) == {"rule", "code", "got", "want"}


def test_invalid_policy_exits_2(tmp_path: Path, worker: SimulatedSnpAttester, cache: str) -> None:
    report, vcek, chain = _write_evidence(tmp_path, worker.report(bytes(64)))
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nid = "x"\n[snp]\nmeasurements = ["nothex"]\n')
    code, out = run(
        "--report", report, "--vcek", vcek, "--chain", chain, "--cache-dir", cache, "--policy", str(bad)
    )
    assert code == 2
    assert out["error"]["code"] == "config.policy_invalid"


def test_help_documents_the_contract() -> None:
    result = CliRunner().invoke(main, ["verify", "snp", "--help"])
    assert result.exit_code == 0
    for needle in ("--report", "--vcek", "--chain", "--crl", "--policy", "--report-data", "--at", "--online",
                   "--json", "--ear-out", "--ear-key", "Exit codes", "collateral unavailable"):  # fmt: skip
        assert needle in result.output
