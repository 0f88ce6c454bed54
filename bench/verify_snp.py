"""Benchmark: SEV-SNP verification, cold and warm, in one process.

    .venv/bin/python bench/verify_snp.py [--rounds N]

cold = certificate parsing and chain verification caches cleared before every verification;
warm = caches filled (only the report signature, validity and cross-checks run).
The baseline measured in the same run is the floor: one bare ECDSA P-384 verification with
`cryptography` over the same signed bytes (the report signature cannot be avoided).

Uses the real corpus reports under ../shared/corpus when present, simulated reports otherwise.
Prints medians in µs and ratios; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from attestgw.evidence.snp import parse_report
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, verify_snp
from attestgw.verify.snp.verifier import clear_caches

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("ATTESTGW_CORPUS", REPO.parent / "shared" / "corpus"))

# (report, signing cert, chain, verification time) — genuine AMD evidence from the corpus
CORPUS_CASES = [
    (
        "snp/oak/milan_oc_release_report.bin",
        "snp/oak/milan_oc_release_vcek.der",
        "snp/amd-roots/ask_ark_milan.pem",
    ),
    ("snp/oak/genoa_oc_report.bin", "snp/oak/genoa_oc_vcek.der", "snp/amd-roots/ask_ark_genoa.pem"),
    ("snp/oak/turin_oc_report.bin", "snp/oak/turin_oc_vcek.der", "snp/amd-roots/ask_ark_turin_vcek.pem"),
]
CORPUS_AT = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)


def _median_us(fn: Callable[[], object], rounds: int, before: Callable[[], None] | None = None) -> float:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def _cases() -> tuple[str, list[tuple[str, bytes, SnpCollateral, SnpVerifyOptions]]]:
    if CORPUS.is_dir() and all((CORPUS / r).is_file() for case in CORPUS_CASES for r in case):
        out = []
        for report, vcek, chain in CORPUS_CASES:
            out.append(
                (
                    Path(report).name,
                    (CORPUS / report).read_bytes(),
                    SnpCollateral(
                        signing_cert=(CORPUS / vcek).read_bytes(), chain=(CORPUS / chain).read_bytes()
                    ),
                    SnpVerifyOptions(at=CORPUS_AT, trust=AMD_TRUST),
                )
            )
        return "real AMD reports from ../shared/corpus", out
    from attestgw.attester.simulated_snp import SimulatedAmdAuthority, SimulatedSnpAttester
    from attestgw.evidence.snp import Product

    out = []
    for product in (Product.MILAN, Product.GENOA, Product.TURIN):
        authority = SimulatedAmdAuthority(product, enable_simulation=True)
        evidence = SimulatedSnpAttester(authority, enable_simulation=True).report(b"\x01" * 64)
        out.append(
            (
                f"simulated {product.value}",
                evidence.report,
                SnpCollateral(signing_cert=evidence.signing_cert, chain=evidence.chain),
                SnpVerifyOptions(
                    at=datetime.now(UTC), trust=AMD_TRUST.with_simulated(product, authority.ark_sha256())
                ),
            )
        )
    return "simulated reports (corpus not found)", out


def _floor(report_bytes: bytes, collateral: SnpCollateral) -> Callable[[], object]:
    """One bare P-384 verification of the same report: the cost no verifier can avoid."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    report = parse_report(report_bytes)
    assert collateral.signing_cert is not None
    from attestgw.crypto.x509 import load_certificate

    cert = load_certificate(collateral.signing_cert)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(report.signature.r, report.signature.s)
    signed = report.signed_bytes
    return lambda: key.verify(der, signed, ec.ECDSA(hashes.SHA384()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    source, cases = _cases()
    print(f"SEV-SNP verification, {args.rounds} rounds each, source: {source}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
    print(
        f"{'report':<34} {'floor µs':>9} {'warm µs':>9} {'cold µs':>9} {'warm/floor':>11} {'cold/floor':>11}"
    )
    warm_all, cold_all, floor_all = [], [], []
    for name, report_bytes, collateral, options in cases:

        def run(
            rb: bytes = report_bytes, c: SnpCollateral = collateral, o: SnpVerifyOptions = options
        ) -> object:
            return verify_snp(parse_report(rb), c, o)

        run()  # fill caches, and fail loudly here if the case does not verify
        floor = _median_us(_floor(report_bytes, collateral), args.rounds)
        warm = _median_us(run, args.rounds)
        cold = _median_us(run, args.rounds, before=clear_caches)
        floor_all.append(floor)
        warm_all.append(warm)
        cold_all.append(cold)
        print(
            f"{name:<34} {floor:>9.0f} {warm:>9.0f} {cold:>9.0f} {warm / floor:>11.2f} {cold / floor:>11.2f}"
        )
    fl, wm, cd = statistics.median(floor_all), statistics.median(warm_all), statistics.median(cold_all)
    print(f"{'median over reports':<34} {fl:>9.0f} {wm:>9.0f} {cd:>9.0f} {wm / fl:>11.2f} {cd / fl:>11.2f}")
    print("targets on the 2-core CI machine: warm ≤ 700 µs, cold ≤ 1500 µs (go-sev-guest: 2400–2900 µs cold)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
