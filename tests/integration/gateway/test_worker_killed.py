"""A worker process killed mid-stream: the client gets a clean (detectably truncated) end, and later
requests go to the other worker. Workers are real processes here (``attestgw worker serve``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attestgw.appraisal import load_policy
from attestgw.errors import DecryptionError
from tests.integration.gateway.sealing import attest, chat, seal_chunked
from tests.unit.gateway.local_services import ALICE_TOKEN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[tuple[subprocess.Popen[str], dict]]]:
    state = tmp_path_factory.mktemp("killable")
    started: list[tuple[subprocess.Popen[str], dict]] = []
    try:
        for _ in range(2):  # one after the other: both write the same policy.toml into the state dir
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "attestgw",
                    "worker",
                    "serve",
                    "--tee",
                    "simulated-snp",
                    "--model",
                    "tiny",
                    "--state-dir",
                    str(state),
                    "--listen",
                    "127.0.0.1:0",
                    "--json",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                pytest.fail("the worker did not start")
            started.append((proc, json.loads(line)))
        yield started
    finally:
        for proc, _ in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def test_killed_worker_mid_stream_then_failover(make_gateway, worker_processes) -> None:
    policy_path = Path(worker_processes[0][1]["policy"])
    policy = load_policy(policy_path)
    urls = [summary["url"] for _, summary in worker_processes]
    with make_gateway(urls, policy=policy_path) as gw, httpx.Client(timeout=60) as client:
        gw.wait_ready(2, timeout=60)
        attested = attest(client, gw.url, ALICE_TOKEN, policy)
        victim = next(
            w
            for w in gw.pool.workers
            if w.admission and w.admission.ohttp_keys == attested.appraised.bundle.ohttp_keys
        )
        proc = worker_processes[urls.index(victim.url)][0]
        body, reader = seal_chunked(attested, chat("tell me a long story", max_tokens=400, stream=True))
        headers = {
            "Authorization": f"Bearer {ALICE_TOKEN}",
            "Content-Type": "message/ohttp-chunked-req",
            "Attestgw-Key-Config": attested.keys_sha256,
        }
        with client.stream(
            "POST", f"{gw.url}/v1/models/tiny/ohttp-chunked", content=body, headers=headers
        ) as r:
            assert r.status_code == 200
            pieces = r.iter_raw()
            reader.feed(next(pieces))
            os.kill(proc.pid, signal.SIGKILL)
            for piece in pieces:  # the gateway ends the response cleanly after the worker died
                reader.feed(piece)
        with pytest.raises(DecryptionError) as err:
            reader.finish()
        assert err.value.code == "ohttp.truncated"
        proc.wait(timeout=30)
        for _ in range(4):  # later requests go to the surviving worker
            again = attest(client, gw.url, ALICE_TOKEN, policy)
            assert again.appraised.bundle.ohttp_keys != attested.appraised.bundle.ohttp_keys
        cut = [json.loads(line) for line in gw.log.getvalue().splitlines() if "relay.stream_cut" in line]
        assert cut
        assert cut[0]["outcome"] == "gateway.upstream_failed"
        relayed = gw.recorder.of("inference.relayed")[-1]
        assert relayed["stream"] is True  # the cut stream was relayed (and recorded) before it broke
