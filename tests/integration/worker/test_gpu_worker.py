"""A worker with simulated GPUs over a real socket: the composite bundle, the SDK session, ``attestgw
attest`` and ``attestgw verify bundle`` all show one result per device; ``--gpu`` on ``worker serve``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from attestgw.attestation import parse_bundle_policy
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.attester.simulated_gpu import SimulatedGpuBackend
from attestgw.cli import main
from attestgw.client import attest
from attestgw.worker import ServedModel, WorkerServices, WorkerSettings, create_app
from tests.conftest import REPO
from tests.integration.worker.conftest import MODEL_DIGEST
from tests.integration.worker.server import UvicornThread
from tests.integration.worker.test_cli_worker import serve
from tests.integration.worker.toy_inner import MODEL, ToyInner


@pytest.fixture(scope="module")
def gpus() -> SimulatedGpuBackend:
    return SimulatedGpuBackend.create(2, enable_simulation=True)


@pytest.fixture(scope="module")
def gpu_worker(sim_backend: SimulatedSnpBackend, gpus: SimulatedGpuBackend) -> Iterator[str]:
    settings = WorkerSettings(model=ServedModel(MODEL, MODEL_DIGEST), max_request_bytes=64 * 1024)
    services = WorkerServices(cpu_attester=sim_backend, inner_app=ToyInner().app, gpu_attester=gpus)
    with UvicornThread(create_app(settings, services)) as server:
        yield server.url


@pytest.fixture(scope="module")
def policy_file(
    tmp_path_factory: pytest.TempPathFactory, sim_backend: SimulatedSnpBackend, gpus: SimulatedGpuBackend
) -> Path:
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    path.write_text(sim_backend.policy_toml(policy_id="gpu-worker") + gpus.policy_toml())
    return path


def test_the_sdk_session_carries_every_gpu_result(gpu_worker: str, policy_file: Path) -> None:
    policy = parse_bundle_policy(policy_file.read_bytes())
    session = attest(gpu_worker, policy)
    assert [r.attester for r in session.gpu_results] == ["nvidia-gpu0", "nvidia-gpu1"]
    assert session.simulated
    assert set(session.ear["submods"]) == {"snp", "nvidia-gpu0", "nvidia-gpu1"}
    summary = session.summary()
    assert [g["status"] for g in summary["gpus"]] == ["affirming", "affirming"]
    assert summary["gpus"][0]["arch"] == "HOPPER"
    assert summary["gpus"][0]["measurements_compared"] is True


def test_attest_cli_shows_the_gpus_and_refuses_without_a_gpu_section(
    gpu_worker: str, policy_file: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["attest", "--url", gpu_worker, "--policy", str(policy_file), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [g["attester"] for g in out["gpus"]] == ["nvidia-gpu0", "nvidia-gpu1"]
    cpu_only = tmp_path / "cpu.toml"
    text = policy_file.read_text()
    cpu_only.write_text(text[: text.index("\n# SIMULATED GPU")])
    result = CliRunner().invoke(main, ["attest", "--url", gpu_worker, "--policy", str(cpu_only), "--json"])
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["status"] == "contraindicated"
    assert {f["code"] for f in out["failures"]} == {"policy.gpu_policy_missing"}


def _saved(url: str, tmp: Path) -> Path:
    body = httpx.get(url + "/attestation", params={"nonce": "11" * 32}, timeout=60).content
    path = tmp / "bundle.json"
    path.write_bytes(body)
    return path


def test_verify_bundle_offline_says_freshness_was_not_checked(
    gpu_worker: str, policy_file: Path, tmp_path: Path
) -> None:
    saved = _saved(gpu_worker, tmp_path)
    result = CliRunner().invoke(
        main, ["verify", "bundle", str(saved), "--policy", str(policy_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    assert out["status"] == "affirming"
    assert out["freshness_checked"] is False
    assert "freshness not checked" in out["note"]
    assert [g["attester"] for g in out["gpus"]] == ["nvidia-gpu0", "nvidia-gpu1"]
    readable = CliRunner().invoke(main, ["verify", "bundle", str(saved), "--policy", str(policy_file)])
    assert readable.exit_code == 0
    assert "nvidia-gpu1" in readable.output
    assert "freshness not checked" in readable.output


def test_verify_bundle_refuses_a_bundle_whose_gpu_evidence_was_swapped(
    gpu_worker: str, policy_file: Path, tmp_path: Path
) -> None:
    saved = _saved(gpu_worker, tmp_path)
    bundle = json.loads(saved.read_bytes())
    bundle["gpu_evidence"] = list(reversed(bundle["gpu_evidence"]))  # same devices, other order
    saved.write_text(json.dumps(bundle))
    result = CliRunner().invoke(
        main, ["verify", "bundle", str(saved), "--policy", str(policy_file), "--json"]
    )
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert "policy.report_data_mismatch" in [f["code"] for f in out["failures"]]
    missing = CliRunner().invoke(main, ["verify", "bundle", str(tmp_path / "nope.json"), "--json"])
    assert missing.exit_code == 2
    assert json.loads(missing.output)["error"]["code"] == "input.unreadable"


def test_worker_serve_refuses_simulated_gpus_on_a_real_tee(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "attestgw", "worker", "serve", "--tee", "configfs-tsm", "--gpu", "simulated",
        "--model", "tiny", "--configfs-root", str(tmp_path), "--listen", "127.0.0.1:0", "--json",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[-1])["error"]["code"] == "usage.invalid"


@pytest.mark.slow
def test_worker_serve_with_simulated_gpus_writes_a_policy_that_affirms_both(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with serve(
        "--tee", "simulated-snp", "--gpu", "simulated", "--model", "tiny", "--state-dir", str(state)
    ) as w:
        assert w.summary["gpu"] == "simulated"
        policy = state / "policy.toml"
        assert "[nvidia]" in policy.read_text()
        result = CliRunner().invoke(main, ["attest", "--url", w.url, "--policy", str(policy), "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["status"] == "affirming"
        assert [g["attester"] for g in out["gpus"]] == ["nvidia-gpu0"]
