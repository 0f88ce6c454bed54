"""Benchmark: one GPU's full offline verification (device chain, SPDM signature, nonce, FWID, two RIMs
with XML signatures and chains, OCSP for every device and RIM certificate, measurement comparison).

    .venv/bin/python bench/verify_gpu.py [--rounds N]

Uses the simulated GPU (the corpus has no OCSP responses and no RIM pair that matches a report),
which produces the same shapes as NVIDIA's: 64 SHA-384 blocks, ~20 KiB RIMs signed ECDSA-P384 with
C14N 1.1, 4-certificate device chain, 3-certificate RIM chains, 4 OCSP responses.

cold = every cache cleared before each verification (chain parses and signatures, RIM parse,
canonicalization, digest and XML signature, OCSP parses and signatures);
cached = caches filled: per call the pins, validity at ``at``, OCSP CertID matching, freshness and
status, the SPDM signature (never cached), the nonce, FWID and the measurement comparison run.
Also: one bare ECDSA P-384 verification (the floor every call pays). Prints medians in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.crypto.x509 import load_pem_bundle, p384_public_key
from attestgw.evidence.nvidia import parse_gpu_evidence
from attestgw.verify.cache import clear_all
from attestgw.verify.nvidia import NVIDIA_TRUST, GpuCollateral, GpuVerifyOptions, RootKind, verify_gpus


def _median_ms(fn: Callable[[], object], rounds: int, before: Callable[[], None] = lambda: None) -> float:
    samples = []
    for _ in range(rounds):
        before()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    gpu = SimulatedNvidiaGpu(enable_simulation=True)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    nonce = os.urandom(32)
    trust = NVIDIA_TRUST.with_simulated(RootKind.DEVICE, gpu.device_root_sha256).with_simulated(
        RootKind.RIM, gpu.rim_root_sha256
    )
    evidence = parse_gpu_evidence(gpu.serialized(nonce))
    collateral = GpuCollateral(
        rims=(gpu.driver_rim(), gpu.vbios_rim()), ocsp_responses=gpu.ocsp_responses(at)
    )
    options = GpuVerifyOptions(at=at, expected_nonce=nonce, trust=trust)
    (claims,) = verify_gpus(evidence, collateral, options)
    assert claims.comparison is not None
    assert claims.comparison.matched
    assert claims.ocsp_checked
    report = evidence[0].report
    key = p384_public_key(load_pem_bundle(gpu.certificate_chain_pem)[0])
    sig = report.response.signature
    r, s = int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
    floor = _median_ms(lambda: verify_p384_sha384(key, r, s, report.signed_bytes), rounds)
    cold = _median_ms(lambda: verify_gpus(evidence, collateral, options), max(20, rounds // 5), clear_all)
    cached = _median_ms(lambda: verify_gpus(evidence, collateral, options), rounds)
    print(f"one GPU, full offline verification ({rounds} rounds, medians):")
    print(f"  cold (no caches)      {cold:8.2f} ms")
    print(f"  cached                {cached:8.2f} ms   (target ≤ 5 ms)")
    print(f"  floor: 1 ECDSA P-384  {floor:8.2f} ms")


if __name__ == "__main__":
    main()
