"""NvidiaCollateralFetcher, ``trust fetch nvidia`` and ``verify nvidia --online`` against a loopback server
that plays NVIDIA's RIM service and OCSP responder (stdlib http.server), recording every request so
each test says what went over the wire: one request per miss, none on a cache hit, none offline."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.x509 import ocsp

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.cli import main
from attestgw.collateral.nvidia import NvidiaCollateralFetcher, rim_ids
from attestgw.errors import CollateralUnavailableError
from attestgw.evidence.nvidia import parse_gpu_evidence
from attestgw.verify.nvidia import GpuArch
from tests.conftest import corpus_file
from tests.integration.cli_nvidia.conftest import run

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DRIVER_ID = "NV_GPU_DRIVER_GH100_570.124.06"
VBIOS_ID = "NV_GPU_VBIOS_1010_0200_882_96009F0001"


@dataclass
class FakeNvidia:
    rims: dict[str, bytes] = field(default_factory=dict)
    ocsp: dict[int, bytes] = field(default_factory=dict)
    status: int = 200
    seen: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def nvidia(gpu: SimulatedNvidiaGpu) -> Iterator[FakeNvidia]:
    state = FakeNvidia()
    state.rims = {DRIVER_ID: gpu.driver_rim(), VBIOS_ID: gpu.vbios_rim()}
    for der in gpu.ocsp_responses(NOW):
        state.ocsp[ocsp.load_der_ocsp_response(der).serial_number] = der

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.seen.append("GET " + self.path)
            rim = state.rims.get(self.path.removeprefix("/v1/rim/"))
            if state.status != 200 or rim is None:
                self._send(state.status if state.status != 200 else 404, b"no", "text/plain")
                return
            body = json.dumps({"id": self.path, "rim": base64.b64encode(rim).decode()}).encode()
            self._send(200, body, "application/json")

        def do_POST(self) -> None:
            request = ocsp.load_der_ocsp_request(self.rfile.read(int(self.headers["Content-Length"])))
            state.seen.append(f"POST {request.serial_number:x}")
            answer = state.ocsp.get(request.serial_number)
            if state.status != 200 or answer is None:
                self._send(state.status if state.status != 200 else 404, b"no", "text/plain")
                return
            self._send(200, answer, "application/ocsp-response")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _fetcher(nvidia: FakeNvidia, cache: Path, *, online: bool = True) -> NvidiaCollateralFetcher:
    return NvidiaCollateralFetcher(
        cache, rim_url=nvidia.url, ocsp_url=nvidia.url, allow_network=online, trust_env=False
    )


def test_rim_ids_follow_nvidia_naming(gpu: SimulatedNvidiaGpu) -> None:
    (evidence,) = parse_gpu_evidence(gpu.serialized(os.urandom(32)))
    assert rim_ids(evidence, GpuArch.HOPPER) == (DRIVER_ID, VBIOS_ID)
    (switch,) = parse_gpu_evidence(
        corpus_file("nvidia/nvattest/switch_ls10/switchAttestationReport.hex").read_bytes()
    )
    # NVSwitch evidence carries no PROJECT / SKU TLVs (NVIDIA reads them from NSCQ): name the RIM by id
    with pytest.raises(CollateralUnavailableError, match="PROJECT"):
        rim_ids(switch, GpuArch.LS10)


def test_fetch_then_reuse_the_cache_offline(
    nvidia: FakeNvidia, gpu: SimulatedNvidiaGpu, tmp_path: Path
) -> None:
    evidence = parse_gpu_evidence(gpu.serialized(os.urandom(32)))
    with _fetcher(nvidia, tmp_path) as fetcher:
        got = fetcher.collateral_for(evidence)
    assert len(got.rims) == 2
    assert len(got.ocsp_responses) == 4
    assert sorted(s.split()[0] for s in nvidia.seen) == ["GET", "GET", "POST", "POST", "POST", "POST"]
    nvidia.seen.clear()
    with _fetcher(nvidia, tmp_path, online=False) as offline:
        again = offline.collateral_for(evidence)
    assert nvidia.seen == []
    assert again == got


def test_corpus_rims_are_served_and_cached_byte_for_byte(nvidia: FakeNvidia, tmp_path: Path) -> None:
    rim = corpus_file("nvidia/nvattest/rims/NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes()
    nvidia.rims["NV_GPU_DRIVER_GH100_550.144.03"] = rim
    with _fetcher(nvidia, tmp_path) as fetcher:
        assert fetcher.rim("NV_GPU_DRIVER_GH100_550.144.03") == rim
    assert (tmp_path / "rims" / "NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes() == rim


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_are_fetch_failures_and_nothing_is_cached(
    nvidia: FakeNvidia, tmp_path: Path, status: int
) -> None:
    nvidia.status = status
    with _fetcher(nvidia, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.rim(DRIVER_ID)
    assert err.value.code == "collateral.fetch_failed"
    assert str(status) in err.value.message
    assert not (tmp_path / "rims").exists()


def test_offline_misses_are_unavailable_without_a_request(nvidia: FakeNvidia, tmp_path: Path) -> None:
    with (
        _fetcher(nvidia, tmp_path, online=False) as fetcher,
        pytest.raises(CollateralUnavailableError) as err,
    ):
        fetcher.rim(DRIVER_ID)
    assert err.value.code == "collateral.unavailable"
    assert nvidia.seen == []


@pytest.mark.parametrize("rim_id", ["../etc/passwd", "a/b", "", "x" * 200])
def test_rim_ids_never_become_paths(nvidia: FakeNvidia, tmp_path: Path, rim_id: str) -> None:
    with _fetcher(nvidia, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError):
        fetcher.rim(rim_id)
    assert nvidia.seen == []


def test_a_garbage_answer_is_not_cached(nvidia: FakeNvidia, tmp_path: Path) -> None:
    nvidia.rims[DRIVER_ID] = b"<not-a-rim/>"
    with _fetcher(nvidia, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.rim(DRIVER_ID)
    assert err.value.code == "collateral.fetch_failed"
    assert not (tmp_path / "rims" / f"{DRIVER_ID}.xml").exists()


def _verify_args(tmp: Path, gpu: SimulatedNvidiaGpu, nonce: bytes) -> list[str]:
    evidence = tmp / "evidence.json"
    evidence.write_bytes(gpu.serialized(nonce))
    roots = ["--trust-simulated-root", gpu.device_root_sha256, "--trust-simulated-root", gpu.rim_root_sha256]
    return ["--evidence", str(evidence), "--nonce", nonce.hex(), "--at", NOW.isoformat(), *roots]


def test_verify_online_fetches_then_works_from_the_cache(
    nvidia: FakeNvidia, gpu: SimulatedNvidiaGpu, tmp_path: Path
) -> None:
    nonce = os.urandom(32)
    cache = tmp_path / "cache"
    urls = ["--rim-url", nvidia.url, "--ocsp-url", nvidia.url, "--cache-dir", str(cache)]
    code, out = run([*_verify_args(tmp_path, gpu, nonce), *urls])
    assert code == 3
    assert out["error"]["code"] == "collateral.unavailable"
    code, out = run([*_verify_args(tmp_path, gpu, nonce), *urls, "--online"])
    assert code == 0, out
    (device,) = out["claims"]["devices"]
    assert device["measurements_compared"]
    assert device["ocsp_checked"]
    assert device["mismatched_indices"] == []
    nvidia.seen.clear()
    code, out = run([*_verify_args(tmp_path, gpu, nonce), *urls])
    assert code == 0
    assert nvidia.seen == []


def test_trust_fetch_nvidia_prefetches_for_evidence(
    nvidia: FakeNvidia, gpu: SimulatedNvidiaGpu, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence.json"
    evidence.write_bytes(gpu.serialized(os.urandom(32)))
    args = [
        "trust",
        "fetch",
        "nvidia",
        "--evidence",
        str(evidence),
        "--cache-dir",
        str(tmp_path / "c"),
        "--rim-url",
        nvidia.url,
        "--ocsp-url",
        nvidia.url,
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rims"] == 2
    assert summary["ocsp_responses"] == 4
    assert f"rim:{DRIVER_ID}" in summary["fetched"]
    result = CliRunner().invoke(main, [*args[:3], "--rim-id", "NV_GPU_DRIVER_GH100_1.2.3", *args[5:]])
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["code"] == "collateral.fetch_failed"
    result = CliRunner().invoke(main, ["trust", "fetch", "nvidia", "--json"])
    assert result.exit_code == 2
