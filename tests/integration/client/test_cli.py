"""`attestgw attest` and `attestgw chat` against the real worker on loopback: output and exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attestgw.cli import main
from tests.integration.client.loopback import RunningWorker
from tests.integration.client.relay import Relay


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, output = run(*args, "--json")
    return code, json.loads(output)


def test_attest_affirms_with_the_workers_policy(worker: RunningWorker) -> None:
    code, out = run_json("attest", "--url", worker.url, "--policy", str(worker.policy_path))
    assert code == 0
    assert out["status"] == "affirming"
    assert out["simulated"] is True
    assert out["failures"] == []
    assert out["claims"]["measurement"] == worker.policy.measurements[0].hex()
    assert [c["key_id"] for c in out["key_configs"]] == [1]
    assert out["key_configs"][0]["selected"] is True
    assert out["models"] == [{"id": "tiny", "digest": worker.model_digest}]
    assert len(out["instance_digest"]) == 64
    assert "note" not in out


def test_attest_readable_output_lists_what_it_would_encrypt_to(worker: RunningWorker) -> None:
    code, output = run("attest", "--url", worker.url, "--policy", str(worker.policy_path))
    assert code == 0
    assert "AFFIRMING" in output
    assert "SIMULATED" in output
    assert "key config" in output
    assert "(selected)" in output


def test_attest_without_a_policy_refuses_simulated_evidence_and_says_why(
    worker: RunningWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default policy is found next to the package, not only in the cwd
    code, out = run_json("attest", "--url", worker.url)
    assert code == 1
    assert out["error"]["code"] == "snp.root_not_pinned"
    assert out["policy"].endswith("default-snp.toml")
    assert "refuses simulated evidence" in out["note"]
    code, output = run("attest", "--url", worker.url)
    assert code == 1
    assert "refuses simulated evidence" in output


def test_attest_lists_every_failed_rule_when_the_binding_is_broken(
    relay: tuple[Relay, str], worker: RunningWorker
) -> None:
    relay_app, url = relay
    relay_app.mode = "swap_keys"
    code, out = run_json("attest", "--url", url, "--policy", str(worker.policy_path))
    assert code == 1
    assert out["status"] == "contraindicated"
    assert [f["code"] for f in out["failures"]] == ["policy.report_data_mismatch"]
    assert out["claims"]["measurement"]  # the evidence was genuine; the policy refused it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_attest_exit_code_3_when_the_worker_is_unreachable(worker: RunningWorker) -> None:
    code, out = run_json(
        "attest", "--url", f"http://127.0.0.1:{_free_port()}", "--policy", str(worker.policy_path)
    )
    assert code == 3
    assert out["error"]["code"] == "worker.unreachable"


def test_attest_exit_code_2_for_an_invalid_policy(worker: RunningWorker, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nid = 'x'\n")
    code, out = run_json("attest", "--url", worker.url, "--policy", str(bad))
    assert code == 2
    assert out["error"]["code"] == "config.policy_invalid"


def test_chat_streams_the_answer_then_the_verified_receipt(worker: RunningWorker) -> None:
    sealed = worker.app.counts["/ohttp-chunked"]
    code, output = run(
        "chat", "--url", worker.url, "--policy", str(worker.policy_path), "--max-tokens", "5", "hi"
    )
    assert code == 0, output
    assert "receipt verified" in output
    assert f"model_digest     {worker.model_digest}" in output
    assert worker.app.counts["/ohttp-chunked"] == sealed + 1


def test_chat_json_carries_the_answer_and_the_receipt(worker: RunningWorker) -> None:
    code, out = run_json("chat", "--url", worker.url, "--policy", str(worker.policy_path), "hello")
    assert code == 0
    assert out["answer"]
    assert out["model"] == "tiny"
    assert out["receipt"]["verified"] is True
    assert out["receipt"]["model_digest"] == worker.model_digest


def test_chat_with_the_default_policy_sends_no_prompt(worker: RunningWorker) -> None:
    before = worker.app.sealed()
    code, out = run_json("chat", "--url", worker.url, "a secret")
    assert code == 1
    assert out["error"]["code"] == "snp.root_not_pinned"
    assert worker.app.sealed() == before


def test_chat_reports_a_truncated_stream(relay: tuple[Relay, str], worker: RunningWorker) -> None:
    relay_app, url = relay
    relay_app.mode = "drop_final"
    code, out = run_json("chat", "--url", url, "--policy", str(worker.policy_path), "hi")
    assert code == 1
    assert out["error"]["code"] == "ohttp.truncated"
    assert "receipt" not in out


def test_chat_reports_a_model_the_worker_does_not_serve(worker: RunningWorker) -> None:
    code, out = run_json(
        "chat", "--url", worker.url, "--policy", str(worker.policy_path), "--model", "big", "hi"
    )
    # refused when attesting (the route names the model), before any prompt is sealed: a usage error
    assert code == 2
    assert out["error"]["code"] == "worker.model_mismatch"
    assert "answer" not in out or out["answer"] == ""
