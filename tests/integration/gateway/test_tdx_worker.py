"""A gateway in front of an Intel TDX worker (simulated TD, tiny model): admitted by appraising its TD
quote with the operator's TDX policy, recorded as a TDX attestation, and usable through the SDK."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from attestgw.attestation import load_bundle_policy
from attestgw.client import AttestedTransport, attest
from tests.integration.worker.test_cli_worker import serve
from tests.unit.gateway.local_services import ALICE_TOKEN

pytestmark = pytest.mark.slow


def test_the_gateway_admits_a_tdx_worker_and_relays_to_it(make_gateway, tmp_path: Path) -> None:
    state = tmp_path / "tdx"
    with serve("--tee", "simulated-tdx", "--model", "tiny", "--state-dir", str(state)) as worker:
        policy_path = state / "policy.toml"
        with make_gateway([worker.url], policy=policy_path) as gw:
            gw.wait_ready()
            recorded = gw.recorder.of("attestation.appraised")[-1]
            assert recorded["tee"] == "tdx"
            assert recorded["status"] == "affirming"
            policy = load_bundle_policy(policy_path)
            session = attest(gw.url, policy, model="tiny", token=ALICE_TOKEN)
            assert session.tee == "tdx"
            transport = AttestedTransport(gw.url, policy, model="tiny", token=ALICE_TOKEN)
            with httpx.Client(transport=transport) as client:
                answer = client.get("http://worker/v1/models")
            assert answer.status_code == 200
            assert transport.last_receipt is not None
            assert transport.last_receipt.evidence_digest == transport.session().instance_digest.hex()
