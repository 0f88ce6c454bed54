"""Admission, sticky routing and failover with two real workers behind the gateway."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.integration.client.loopback import LoopbackServer
from tests.integration.gateway.conftest import Workers
from tests.integration.gateway.sealing import attest, inner, sealed_exchange
from tests.unit.gateway.local_services import ALICE_TOKEN, BOB_TOKEN

DEFAULT_POLICY = Path(__file__).resolve().parents[3] / "src" / "attestgw" / "data" / "default-snp.toml"


def test_workers_enter_the_pool_only_after_affirming_attestation(make_gateway, two_workers) -> None:
    with (
        make_gateway([w.url for w in two_workers], policy=DEFAULT_POLICY) as gw,
        httpx.Client(timeout=30) as c,
    ):
        deadline = time.monotonic() + 30
        while len(gw.recorder.of("attestation.appraised")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = gw.recorder.of("attestation.appraised")
        assert {r["worker"] for r in refused} == {w.url for w in two_workers}
        assert all(r["status"] != "affirming" for r in refused)
        assert refused[0]["codes"][0].startswith(("snp.", "policy."))
        assert refused[0]["bundle"]  # the evidence is kept for audit
        assert len(refused[0]["nonce"]) == 32
        assert not gw.recorder.of("worker.admitted")
        assert c.get(f"{gw.url}/readyz").status_code == 503
        r = c.get(
            f"{gw.url}/v1/ohttp-keys",
            params={"model": "tiny"},
            headers={"Authorization": f"Bearer {ALICE_TOKEN}"},
        )
        assert r.status_code == 503
        assert r.json()["code"] == "gateway.no_worker"


def test_pinned_requests_stick_to_the_attested_worker(make_gateway, two_workers, workers: Workers) -> None:
    with make_gateway([w.url for w in two_workers]) as gw, httpx.Client(timeout=30) as client:
        gw.wait_ready(2)
        assert client.get(f"{gw.url}/readyz").json()["workers"] == 2
        attested = attest(client, gw.url, ALICE_TOKEN, workers.policy)
        before = [w.app.counts["/ohttp"] for w in two_workers]
        url = f"{gw.url}/v1/models/tiny/ohttp"
        for _ in range(4):
            status, _content, outer = sealed_exchange(
                client, url, ALICE_TOKEN, attested, inner("GET", "/v1/models")
            )
            assert status == 200, outer.text
        grew = [w.app.counts["/ohttp"] - b for w, b in zip(two_workers, before, strict=True)]
        assert sorted(grew) == [0, 4]  # every request went to the worker whose key was attested
        # Without the pin, the key id alone (1 on both workers) cannot tell them apart: the other
        # worker refuses what it cannot open, and the gateway passes its refusal on.
        outcomes = set()
        for _ in range(4):
            status, _, outer = sealed_exchange(
                client, url, ALICE_TOKEN, attested, inner("GET", "/v1/models"), pin=False
            )
            outcomes.add(status if status != 400 else outer.json()["code"])
        assert outcomes == {200, "ohttp.decrypt_failed"}
        listed = client.get(f"{gw.url}/v1/models", headers={"Authorization": f"Bearer {ALICE_TOKEN}"}).json()
        assert listed["data"] == [{"id": "tiny", "object": "model"}]


def test_a_stopped_worker_is_failed_over_and_pinned_clients_get_no_worker(
    make_gateway, workers: Workers
) -> None:
    first_app, second_app = workers.parts.app(), workers.parts.app()
    with ExitStack() as stack:
        first = stack.enter_context(LoopbackServer(first_app))
        second = stack.enter_context(LoopbackServer(second_app))
        gw = stack.enter_context(make_gateway([first.url, second.url]))
        client = stack.enter_context(httpx.Client(timeout=30))
        gw.wait_ready(2)
        on_first = None
        for _ in range(6):
            attested = attest(client, gw.url, ALICE_TOKEN, workers.policy)
            if attested.appraised.bundle.ohttp_keys == gw.pool.workers[0].admission.ohttp_keys:
                on_first = attested
                break
        assert on_first is not None
        first.__exit__(None, None, None)  # the first worker goes away
        for _ in range(4):  # connect errors happen before anything is sent: the next worker answers
            attest(client, gw.url, ALICE_TOKEN, workers.policy)
        status, _, outer = sealed_exchange(
            client, f"{gw.url}/v1/models/tiny/ohttp", ALICE_TOKEN, on_first, inner("GET", "/v1/models")
        )
        assert status == 503
        assert outer.json()["code"] == "gateway.no_worker"
        events = [json.loads(line)["event"] for line in gw.log.getvalue().splitlines()]
        assert "worker.unhealthy" in events


def test_denied_and_unauthenticated_callers_never_reach_a_worker(make_gateway, two_workers) -> None:
    with make_gateway([two_workers[0].url]) as gw, httpx.Client(timeout=30) as client:
        gw.wait_ready()

        def reached() -> tuple[int, int]:
            return two_workers[0].app.counts["/attestation"], two_workers[0].app.counts["/ohttp"]

        before = reached()
        r = client.get(
            f"{gw.url}/v1/attestation",
            params={"nonce": "00" * 32, "model": "tiny"},
            headers={"Authorization": f"Bearer {BOB_TOKEN}"},
        )
        assert r.status_code == 403
        r = client.post(
            f"{gw.url}/v1/models/tiny/ohttp",
            content=b"\x01abc",
            headers={"Content-Type": "message/ohttp-req"},
        )
        assert r.status_code == 401
        assert reached() == before
