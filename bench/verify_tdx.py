"""Benchmark: Intel TDX quote verification, collateral cached vs not, in one process.

    .venv/bin/python bench/verify_tdx.py [--rounds N]

cold = every cache cleared before each verification (PCK chain parse and signatures, attestation
key, QE report signature, collateral bundle verification all redone);
cached = caches filled: per call only the pin, validity at ``at``, revocation lookups, the QE
report binding, the quote signature and the TCB evaluation run.
The floor measured in the same run is one bare ECDSA P-256 verification of the quote signature
(which every call must do).

Uses the real TD quotes from ../shared/corpus (MANIFEST combinations that verify). Prints medians
in µs; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.conformance._tdx_manifest (the MANIFEST reader)

from attestgw.crypto.p256 import verify_p256_sha256  # noqa: E402
from attestgw.errors import AttestgwError  # noqa: E402
from attestgw.evidence.tdx import parse_quote  # noqa: E402
from attestgw.verify.tdx import TdxVerifyOptions, clear_caches, verify_tdx  # noqa: E402
from attestgw.verify.tdx._attestation_key import attestation_public_key  # noqa: E402
from tests.conformance._tdx_manifest import (  # noqa: E402
    CORPUS,
    Combination,
    bundle_for,
    combinations,
    read,
)


def _median_us(fn: Callable[[], object], rounds: int, before: Callable[[], None] | None = None) -> float:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def _measure(combo: Combination, rounds: int) -> tuple[float, float, float] | str:
    """(cold, cached, floor) medians in µs, or the refusal code of a quote that does not verify."""
    quote = parse_quote(read(combo.quote), allow_trailing=True)
    bundle = bundle_for(combo)
    options = TdxVerifyOptions(at=combo.inside)
    try:
        verify_tdx(quote, bundle, options)
    except AttestgwError as err:
        return err.code
    cold = _median_us(lambda: verify_tdx(quote, bundle, options), max(rounds // 10, 5), clear_caches)
    verify_tdx(quote, bundle, options)
    cached = _median_us(lambda: verify_tdx(quote, bundle, options), rounds)
    key = attestation_public_key(quote.attestation_key)
    floor = _median_us(lambda: verify_p256_sha256(key, quote.signature, quote.signed_bytes), rounds)
    return cold, cached, floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    combos = [c for c in combinations() if c.tdx]
    if not combos:
        print(f"no TDX corpus at {CORPUS}; nothing to measure")
        return 0
    print(f"real TD quotes from {CORPUS} (median of {args.rounds} rounds, µs per quote)")
    print(f"{'quote':<48} {'cold':>9} {'cached':>9} {'floor':>9}")
    cached_all = []
    for combo in combos:
        row = _measure(combo, args.rounds)
        if isinstance(row, str):
            print(f"{combo.quote:<48} skipped: {row}")
            continue
        cold, cached, floor = row
        cached_all.append(cached)
        print(f"{combo.quote:<48} {cold:>9.0f} {cached:>9.0f} {floor:>9.0f}")
    if cached_all:
        print(f"median over quotes: cached {statistics.median(cached_all):.0f} µs (target ≤ 2000 µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
