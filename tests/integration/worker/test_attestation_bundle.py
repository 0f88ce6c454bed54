"""GET /attestation and /ohttp-keys over a real socket: the bundle binds the served keys and verifies."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from attestgw.appraisal import appraise_snp, load_policy, parse_policy
from attestgw.attester.configfs_tsm import ConfigfsTsmAttester
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.errors import ConfigError
from attestgw.evidence.binding import BindingInputs, report_data
from attestgw.evidence.snp import parse_report
from attestgw.receipt import instance_digest
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from attestgw.worker import ServedModel, WorkerServices, WorkerSettings, create_app
from tests.conftest import REPO
from tests.integration.worker.channel import problem, receipt_key
from tests.integration.worker.conftest import MODEL_DIGEST, RunningWorker
from tests.integration.worker.server import UvicornThread
from tests.integration.worker.toy_inner import MODEL, ToyInner
from tests.unit.attester_backends.fake_configfs import FakeTsmKernel


def _verify(bundle: dict[str, object], backend: SimulatedSnpBackend) -> VerifiedSnpClaims:
    evidence = bundle["evidence"]
    assert isinstance(evidence, dict)
    authority = backend.attester.authority
    return verify_snp(
        parse_report(base64.b64decode(evidence["report"])),
        SnpCollateral(
            signing_cert=base64.b64decode(evidence["signing_cert"]), chain=evidence["chain"].encode()
        ),
        SnpVerifyOptions(
            at=datetime.now(UTC), trust=AMD_TRUST.with_simulated(authority.product, authority.ark_sha256())
        ),
    )


def test_bundle_binds_the_served_keys_and_affirms_with_the_simulated_policy(
    worker: RunningWorker, client: httpx.Client
) -> None:
    nonce = os.urandom(32)
    bundle = worker.bundle(client, nonce)
    assert bundle["version"] == 1
    assert bundle["tee"] == "snp"
    assert bundle["simulated"] is True
    assert bundle["nonce"] == nonce.hex()
    assert bundle["binding"] == "attestgw/report-data/v1"
    assert bundle["gpu_evidence"] is None
    assert bundle["models"] == [{"id": MODEL, "digest": MODEL_DIGEST}]
    assert bundle["evidence"]["provider"] == "simulated-snp"

    # The keys in the bundle are exactly the bytes served at /ohttp-keys.
    keys = client.get(worker.url + "/ohttp-keys")
    assert keys.headers["content-type"] == "application/ohttp-keys"
    ohttp_keys = base64.b64decode(bundle["ohttp_keys"])
    assert keys.content == ohttp_keys

    # REPORT_DATA is the binding over the nonce and the bytes served, and the report verifies.
    claims = _verify(bundle, worker.backend)
    expected = report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_key(bundle)))
    assert claims.report.report_data == expected
    assert claims.simulated

    # The policy the CLI writes into the state dir affirms; the shipped default policy refuses.
    policy = parse_policy(worker.backend.policy_toml().encode(), source="policy.toml")
    result = appraise_snp(claims, policy, expected_report_data=expected)
    assert result.affirming, [f.as_dict() for f in result.failures]
    default = load_policy(REPO / "policies" / "attestation" / "default-snp.toml")
    refused = appraise_snp(claims, default, expected_report_data=expected)
    assert not refused.affirming
    assert "policy.simulated_root" in {f.code for f in refused.failures}

    # The worker's instance digest (in every receipt) is what a client derives from the bundle.
    assert worker.identity.evidence_digest == (
        instance_digest(claims.report.measurement, ohttp_keys, receipt_key(bundle)).hex()
    )


def test_each_nonce_gets_its_own_report_over_the_same_keys(
    worker: RunningWorker, client: httpx.Client
) -> None:
    first, second = worker.bundle(client), worker.bundle(client)
    assert first["ohttp_keys"] == second["ohttp_keys"]
    assert first["receipt_key"] == second["receipt_key"]
    assert first["evidence"]["report"] != second["evidence"]["report"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"nonce": ""},
        {"nonce": "00" * 31},
        {"nonce": "00" * 33},
        {"nonce": "AB" * 32},
        {"nonce": "zz" * 32},
    ],
)
def test_bad_nonce_is_a_usage_problem(
    worker: RunningWorker, client: httpx.Client, query: dict[str, str]
) -> None:
    response = client.get(worker.url + "/attestation", params=query)
    assert response.status_code == 400
    assert problem(response)["code"] == "usage.invalid"


def test_healthz_and_unknown_routes(worker: RunningWorker, client: httpx.Client) -> None:
    assert client.get(worker.url + "/healthz").json() == {"status": "ok"}
    missing = client.get(worker.url + "/v1/chat/completions")  # the inner API is never served in the clear
    assert missing.status_code == 404
    assert problem(missing)["code"] == "usage.invalid"
    wrong_method = client.get(worker.url + "/ohttp")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["allow"]


def test_plaintext_bench_route_is_off_by_default(
    sim_backend: SimulatedSnpBackend, client: httpx.Client
) -> None:
    toy = ToyInner()
    settings = WorkerSettings(model=ServedModel(MODEL, MODEL_DIGEST))
    app = create_app(settings, WorkerServices(cpu_attester=sim_backend, inner_app=toy.app))
    with UvicornThread(app) as server:
        assert client.get(server.url + "/plain/v1/models").status_code == 404
    assert toy.seen == []


def test_plaintext_bench_route_serves_the_inner_app_when_enabled(
    worker: RunningWorker, client: httpx.Client
) -> None:
    response = client.get(worker.url + "/plain/v1/models")
    assert response.status_code == 200
    assert response.json()["data"][0]["id"] == MODEL
    # The inner app's lifespan state reaches requests on this route too.
    assert client.get(worker.url + "/plain/state").json()["greeting"] == "hello from the inner lifespan"


def test_worker_over_configfs_tsm_serves_the_kernel_report(
    tmp_path: Path, sim_backend: SimulatedSnpBackend, client: httpx.Client
) -> None:
    kernel = FakeTsmKernel(tmp_path / "tsm", sim_backend.attester)
    attester = ConfigfsTsmAttester(kernel.root, _kernel=kernel)
    settings = WorkerSettings(model=ServedModel(MODEL, MODEL_DIGEST))
    app = create_app(settings, WorkerServices(cpu_attester=attester, inner_app=ToyInner().app))
    with UvicornThread(app) as server:
        nonce = os.urandom(32)
        bundle = client.get(server.url + "/attestation", params={"nonce": nonce.hex()}).json()
        assert bundle["simulated"] is False  # configfs-tsm cannot tell; the root decides
        assert bundle["evidence"]["provider"] == "sev_guest"
        assert bundle["evidence"]["generation"] == 1
        assert base64.b64decode(bundle["evidence"]["cert_table"]) == sim_backend.attester.cert_table()
        claims = _verify(bundle, sim_backend)
        ohttp_keys = base64.b64decode(bundle["ohttp_keys"])
        expected = report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_key(bundle)))
        assert claims.report.report_data == expected

        # A kernel that starts failing: the bundle route says so with the attester's code.
        kernel.fail[("read", "outblob")] = 5  # EIO
        failed = client.get(server.url + "/attestation", params={"nonce": nonce.hex()})
        assert failed.status_code == 503
        assert problem(failed)["code"] == "attester.request_failed"
    assert kernel.leftover_entries() == []


def test_worker_refuses_to_start_without_a_working_attester(tmp_path: Path) -> None:
    settings = WorkerSettings(model=ServedModel(MODEL, MODEL_DIGEST))
    attester = ConfigfsTsmAttester(tmp_path / "no-configfs")
    with pytest.raises(ConfigError) as info:
        create_app(settings, WorkerServices(cpu_attester=attester, inner_app=ToyInner().app))
    assert info.value.code == "attester.unavailable"
