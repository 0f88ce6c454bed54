"""``attestgw worker serve`` as a user runs it: a real process, the tiny model, loopback sockets."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from attestgw.appraisal import appraise_snp, load_policy
from attestgw.client import AttestedTransport
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.evidence.snp import Product, parse_report
from attestgw.ohttp import decode_key_configs
from attestgw.receipt import Receipt, verify_receipt
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from tests.conftest import REPO
from tests.integration.worker.channel import chat, inner_request, post_chunked, receipt_in, receipt_key

pytestmark = pytest.mark.slow

_START_TIMEOUT_S = 120


@dataclass
class Served:
    process: subprocess.Popen[str]
    summary: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.summary["url"])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ATTESTGW_ALLOW_SIMULATED", None)  # --tee simulated-snp alone must be the opt-in
    return env


@contextmanager
def serve(*args: str) -> Iterator[Served]:
    command = [
        sys.executable,
        "-m",
        "attestgw",
        "worker",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--json",
        *args,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    try:
        try:
            first = lines.get(timeout=_START_TIMEOUT_S)
        except queue.Empty:
            pytest.fail("the worker printed no startup summary")
        summary = json.loads(first)
        assert summary["status"] == "serving", summary
        served = Served(process, summary)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                if httpx.get(served.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the worker never became healthy"
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _claims(bundle: dict[str, Any], policy_file: Path) -> VerifiedSnpClaims:
    evidence = bundle["evidence"]
    root = load_policy(policy_file).trust_simulated_roots[0]
    return verify_snp(
        parse_report(base64.b64decode(evidence["report"])),
        SnpCollateral(
            signing_cert=base64.b64decode(evidence["signing_cert"]), chain=evidence["chain"].encode()
        ),
        SnpVerifyOptions(at=datetime.now(UTC), trust=AMD_TRUST.with_simulated(Product.GENOA, root)),
    )


def test_simulated_worker_with_state_dir_end_to_end(tmp_path: Path) -> None:
    state = tmp_path / "state"
    policy_file = state / "policy.toml"
    args = ("--tee", "simulated-snp", "--model", "tiny", "--state-dir", str(state))
    with serve(*args) as worker:
        assert worker.summary["simulated"] is True
        assert worker.summary["policy"] == str(policy_file)
        assert worker.summary["model"]["id"] == "tiny"
        with httpx.Client(timeout=60) as client:
            nonce = os.urandom(32)
            bundle = client.get(worker.url + "/attestation", params={"nonce": nonce.hex()}).json()
            ohttp_keys = base64.b64decode(bundle["ohttp_keys"])
            expected = report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_key(bundle)))
            claims = _claims(bundle, policy_file)
            assert claims.report.report_data == expected
            # DIR/policy.toml affirms this worker; the shipped default policy refuses it.
            assert appraise_snp(claims, load_policy(policy_file), expected_report_data=expected).affirming
            default = load_policy(REPO / "policies" / "attestation" / "default-snp.toml")
            assert not appraise_snp(claims, default, expected_report_data=expected).affirming
            assert bundle["models"] == [{"id": "tiny", "digest": worker.summary["model"]["digest"]}]

            # A streamed chat completion from the tiny model, sealed both ways.
            config = decode_key_configs(ohttp_keys)[0]
            request = inner_request(chat("tiny", stream=True) | {"max_tokens": 8})
            streamed = post_chunked(client, worker.url, config, request)
            assert streamed.head.status == 200
            assert streamed.bodies[-1] == b"data: [DONE]\n\n"
            assert all(b.startswith(b"data: ") for b in streamed.bodies)
            receipt = receipt_in(streamed.end.trailers)
            verify_receipt(receipt, receipt_key(bundle))
            assert receipt.model_digest == worker.summary["model"]["digest"]
        first_policy = policy_file.read_bytes()
        first_keys = worker.summary["ohttp_keys_sha256"]
    assert worker.process.returncode == 0

    # A restart keeps the simulated roots (the same policy still affirms) but makes new keys; this
    # time with a P-256 receipt key, which the SDK verifies on every response.
    with serve(*args, "--receipt-key", "p256") as again:
        assert policy_file.read_bytes() == first_policy
        assert again.summary["ohttp_keys_sha256"] != first_keys
        assert again.summary["receipt_key_alg"] == "ES256"
        bundle = httpx.get(again.url + "/attestation", params={"nonce": "00" * 32}, timeout=60).json()
        assert appraise_snp(_claims(bundle, policy_file), load_policy(policy_file)).affirming
        spki = receipt_key(bundle, "ES256")
        receipts: list[Receipt] = []
        transport = AttestedTransport(again.url, load_policy(policy_file), on_receipt=receipts.append)
        with httpx.Client(transport=transport, timeout=60) as sdk:
            one_shot = sdk.post("http://worker/v1/chat/completions", json=chat("tiny") | {"max_tokens": 2})
            assert one_shot.status_code == 200
            with sdk.stream(
                "POST",
                "http://worker/v1/chat/completions",
                json=chat("tiny", stream=True) | {"max_tokens": 2},
            ) as streamed:
                assert b"data: [DONE]" in streamed.read()
        assert len(receipts) == 2
        for receipt in receipts:
            verify_receipt(receipt, spki)
            assert receipt.evidence_digest == transport.session().instance_digest.hex()


def test_configfs_tsm_without_the_interface_fails_at_start(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "attestgw", "worker", "serve", "--tee", "configfs-tsm", "--model", "tiny",
        "--configfs-root", str(tmp_path / "absent"), "--listen", "127.0.0.1:0", "--json",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=_env(), cwd=REPO, timeout=300, check=False
    )
    assert done.returncode == 2
    assert json.loads(done.stdout.splitlines()[-1])["error"]["code"] == "attester.unavailable"
    assert "SIMULATED" not in done.stderr


def test_listen_address_is_validated() -> None:
    command = [
        sys.executable,
        "-m",
        "attestgw",
        "worker",
        "serve",
        "--tee",
        "simulated-snp",
        "--model",
        "tiny",
    ]
    done = subprocess.run(
        [*command, "--listen", "nowhere"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr
