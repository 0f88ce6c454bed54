"""Benchmark: the sealed channel's cryptographic cost per request, in one process.

    .venv/bin/python bench/channel.py [--rounds N]

For each HPKE suite, one OHTTP exchange of a 1 KiB and a 64 KiB message:
request = client seal + gateway open (KEM encap + decap, key schedule, AEAD both ways);
response = gateway seal + client open (export, HKDF, AEAD both ways); total = both.
Then the per-chunk overhead of chunked OHTTP: a response of N token-sized chunks against one
non-chunked response with the same bytes (µs and bytes per chunk), and the Binary HTTP
encode + decode cost of a chat request. Prints medians; asserts nothing (timings are not tests).

The loopback part (sealed vs plaintext requests to the same worker endpoint over real sockets)
needs the worker and is not measured here yet; the script says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

from attestgw.bhttp import Field, Request, decode_request, encode_request
from attestgw.crypto.hpke import (
    AEAD_AES_128_GCM,
    AEAD_AES_256_GCM,
    AEAD_CHACHA20_POLY1305,
    KDF_HKDF_SHA256,
    KEM_X25519_HKDF_SHA256,
    KEM_XWING,
    xwing_available,
)
from attestgw.ohttp import (
    ChunkedClientRequest,
    ClientRequest,
    ReplayWindow,
    Server,
    ServerKey,
    SymmetricAlgorithm,
)

SUITES = [
    ("X25519 / HKDF-SHA256 / AES-128-GCM (default)", KEM_X25519_HKDF_SHA256, AEAD_AES_128_GCM),
    ("X25519 / HKDF-SHA256 / AES-256-GCM", KEM_X25519_HKDF_SHA256, AEAD_AES_256_GCM),
    ("X25519 / HKDF-SHA256 / ChaCha20-Poly1305", KEM_X25519_HKDF_SHA256, AEAD_CHACHA20_POLY1305),
    ("X-Wing / HKDF-SHA256 / AES-128-GCM", KEM_XWING, AEAD_AES_128_GCM),
    ("X-Wing / HKDF-SHA256 / ChaCha20-Poly1305", KEM_XWING, AEAD_CHACHA20_POLY1305),
]
SIZES = [("1 KiB", 1024), ("64 KiB", 64 * 1024)]
TARGET_US = 300.0


def _median_us(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def _server(kem_id: int, aead_id: int) -> tuple[Server, ServerKey]:
    key = ServerKey.generate(1, kem_id=kem_id, symmetric=(SymmetricAlgorithm(KDF_HKDF_SHA256, aead_id),))
    # A window large enough for every round: replay protection is part of the measured cost.
    return Server([key], replay_window=ReplayWindow(max_entries=1 << 20)), key


def _exchange_costs(kem_id: int, aead_id: int, size: int, rounds: int) -> tuple[float, float]:
    """Median µs of (client seal + gateway open) and of (gateway seal + client open)."""
    server, key = _server(kem_id, aead_id)
    message = os.urandom(size)
    requests, responses = [], []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        sealed, opener = ClientRequest(key.config).seal(message)
        _, sealer = server.open_request(sealed)
        t1 = time.perf_counter_ns()
        opener.open(sealer.seal(message))
        t2 = time.perf_counter_ns()
        requests.append((t1 - t0) / 1000)
        responses.append((t2 - t1) / 1000)
    return statistics.median(requests), statistics.median(responses)


def _chunk_overhead(rounds: int, chunks: int = 256, chunk_size: int = 64) -> tuple[float, float]:
    server, key = _server(KEM_X25519_HKDF_SHA256, AEAD_AES_128_GCM)
    pieces = [os.urandom(chunk_size) for _ in range(chunks)]
    whole = b"".join(pieces)
    chunked_bytes = single_bytes = 0
    chunked_us_samples, single_us_samples = [], []
    for _ in range(rounds):
        final, opener = ChunkedClientRequest(key.config).seal_final(b"q")
        _, sealer = server.open_chunked_request(final)
        t0 = time.perf_counter_ns()
        wire = b"".join(sealer.seal_chunk(p) for p in pieces[:-1]) + sealer.seal_final(pieces[-1])
        opener.open_all(wire)
        chunked_us_samples.append((time.perf_counter_ns() - t0) / 1000)
        chunked_bytes = len(wire)

        final, opener = ChunkedClientRequest(key.config).seal_final(b"q")
        _, sealer = server.open_chunked_request(final)
        t0 = time.perf_counter_ns()
        wire = sealer.seal_final(whole)
        opener.open_all(wire)
        single_us_samples.append((time.perf_counter_ns() - t0) / 1000)
        single_bytes = len(wire)
    per_chunk_us = (statistics.median(chunked_us_samples) - statistics.median(single_us_samples)) / (
        chunks - 1
    )
    per_chunk_bytes = (chunked_bytes - single_bytes) / (chunks - 1)
    return per_chunk_us, per_chunk_bytes


def _bhttp_cost(rounds: int) -> float:
    request = Request(
        b"POST",
        b"https",
        b"worker",
        b"/v1/chat/completions",
        (Field(b"content-type", b"application/json"), Field(b"accept", b"text/event-stream")),
        b'{"model":"tiny","messages":[{"role":"user","content":"' + b"x" * 900 + b'"}]}',
    )
    return _median_us(lambda: decode_request(encode_request(request)), rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    print(f"sealed channel, {args.rounds} rounds each (medians)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
    header = f"{'suite':<46} {'size':>7} {'request µs':>11} {'response µs':>12} {'total µs':>9}"
    print(header)
    default_total = None
    for name, kem_id, aead_id in SUITES:
        if kem_id == KEM_XWING and not xwing_available():
            print(f"{name:<46} skipped: this cryptography backend has no ML-KEM-768")
            continue
        for size_name, size in SIZES:
            req, resp = _exchange_costs(kem_id, aead_id, size, args.rounds)
            if default_total is None:
                default_total = req + resp
            print(f"{name:<46} {size_name:>7} {req:>11.1f} {resp:>12.1f} {req + resp:>9.1f}")
    per_us, per_bytes = _chunk_overhead(max(args.rounds // 4, 20))
    print(
        f"chunked OHTTP overhead per chunk (256 × 64 B chunks vs one message): {per_us:.2f} µs, {per_bytes:.1f} bytes"
    )
    print(f"Binary HTTP encode + decode of a 1 KiB chat request: {_bhttp_cost(args.rounds):.1f} µs")
    if default_total is not None:
        verdict = "within" if default_total <= TARGET_US else "over"
        print(
            f"default suite, 1 KiB: {default_total:.1f} µs of channel crypto per request ({verdict} the {TARGET_US:.0f} µs target)"
        )
    print(
        "loopback (sealed vs plaintext requests to the same worker endpoint): not measured yet, needs the worker (issue 3 item 5)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
