"""Benchmark: the sealed channel's cryptographic cost per request, in one process.

    .venv/bin/python bench/channel.py [--rounds N]

For each HPKE suite, one OHTTP exchange of a 1 KiB and a 64 KiB message:
request = client seal + gateway open (KEM encap + decap, key schedule, AEAD both ways);
response = gateway seal + client open (export, HKDF, AEAD both ways); total = both.
Then the per-chunk overhead of chunked OHTTP: a response of N token-sized chunks against one
non-chunked response with the same bytes (µs and bytes per chunk), the Binary HTTP encode + decode
cost of a chat request, and the public-key operations every sealed request needs (the floor under
the added latency: X25519 key generation and two DH on ``cryptography`` directly, the receipt's
signature and its check for each receipt algorithm, Ed25519 and ES256). Prints medians; asserts
nothing (timings are not tests).

Last, the loopback part: a real worker (``attestgw worker serve --tee simulated-snp --model tiny
--bench-plaintext``, a separate process) and this process as the client, over 127.0.0.1. The same
inner request (``GET /v1/models``, a small answer) is sent plain (``GET /plain/v1/models``, keep-alive
httpx client) and sealed (the SDK's ``AttestedTransport``: Binary HTTP, OHTTP seal, ``POST /ohttp``,
worker open + dispatch + seal + receipt signature, client open + receipt verification), interleaved
one by one. Printed: median and p99 latency of each and their difference (the added latency), and
requests/s of back-to-back requests for each (one client), and their ratio. The same again for a small
prompt (a 1-token chat completion of the tiny model, ``POST /v1/chat/completions``), where the model's
own work is in both. Both run once per receipt key (``--receipt-key ed25519|p256|both``, default
both: a worker each). ``--no-loopback`` skips it; without the worker extra it is skipped with a
message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _public_key_floor(rounds: int) -> dict[str, float]:
    """Median µs of the public-key operations every sealed request needs: the client's X25519 key
    generation and DH (HPKE encap) and the worker's DH (decap) on ``cryptography`` alone, and the
    worker's receipt signature and the client's check of it through attestgw's receipt keys (what
    the worker and the SDK call), for each receipt algorithm."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from attestgw.crypto.receipt_keys import RECEIPT_ALGORITHMS, ReceiptKey, receipt_verifier

    recipient = X25519PrivateKey.generate()
    peer = X25519PrivateKey.generate().public_key()
    message = b"r" * 700  # about a receipt's canonical JSON
    floor = {
        "X25519 keygen": _median_us(X25519PrivateKey.generate, rounds),
        "X25519 DH": _median_us(lambda: recipient.exchange(peer), rounds),
    }
    for algorithm in RECEIPT_ALGORITHMS:
        key = ReceiptKey(algorithm)
        verify = receipt_verifier(key.spki_der)
        signature = key.sign(message)
        floor[f"{algorithm} sign"] = _median_us(lambda k=key: k.sign(message), rounds)
        floor[f"{algorithm} verify"] = _median_us(lambda v=verify, s=signature: v(message, s), rounds)
    return floor


LOOPBACK_TARGET_MS = 0.3
LOOPBACK_TARGET_RATIO = 0.9


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _worker_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the worker process has used so far; NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_worker(
    state: Path, receipt_key: str = "ed25519"
) -> tuple[subprocess.Popen[str], dict[str, object]]:
    """``attestgw worker serve`` in its own process; its one-line JSON summary (URL, policy path)."""
    command = [
        sys.executable, "-m", "attestgw", "worker", "serve", "--tee", "simulated-snp", "--model", "tiny",
        "--listen", "127.0.0.1:0", "--state-dir", str(state), "--bench-plaintext", "--json",
        "--receipt-key", receipt_key,
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise RuntimeError(f"the worker did not start (exit {proc.returncode})")
    return proc, json.loads(line)


_SMALL_PROMPT = {
    "model": "tiny",
    "messages": [{"role": "user", "content": "Hello, how are you?"}],
    "max_tokens": 1,
    "temperature": 0,
}


def _measure(
    send_plain: Callable[[], None], send_sealed: Callable[[], None], rounds: int, bulk: int, pid: int
) -> dict[str, object]:
    for _ in range(min(50, rounds)):  # warm up: connections, attestation, caches, the inner app
        send_plain()
        send_sealed()
    plain_ms, sealed_ms = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        t0 = time.perf_counter_ns()
        send_plain()
        t1 = time.perf_counter_ns()
        send_sealed()
        t2 = time.perf_counter_ns()
        plain_ms.append((t1 - t0) / 1e6)
        sealed_ms.append((t2 - t1) / 1e6)
    rates: dict[str, list[float]] = {"plain": [], "sealed": []}
    cpu: dict[str, list[tuple[float, float]]] = {"plain": [], "sealed": []}
    for _ in range(3):  # alternate blocks of back-to-back requests
        for name, send in (("plain", send_plain), ("sealed", send_sealed)):
            c0, w0, t0 = time.process_time(), _worker_cpu_s(pid), time.perf_counter()
            for _ in range(bulk):
                send()
            t1 = time.perf_counter()
            rates[name].append(bulk / (t1 - t0))
            client_ms = (time.process_time() - c0) / bulk * 1e3
            cpu[name].append((client_ms, (_worker_cpu_s(pid) - w0) / bulk * 1e3))
    return {"plain_ms": plain_ms, "sealed_ms": sealed_ms, "rates": rates, "cpu": cpu}


def _report(title: str, m: dict[str, Any]) -> None:
    plain_ms, sealed_ms, rates, cpu = m["plain_ms"], m["sealed_ms"], m["rates"], m["cpu"]
    med_p, med_s = statistics.median(plain_ms), statistics.median(sealed_ms)
    p99_p, p99_s = _percentile(plain_ms, 0.99), _percentile(sealed_ms, 0.99)
    rps_p, rps_s = statistics.median(rates["plain"]), statistics.median(rates["sealed"])
    added, ratio = med_s - med_p, rps_s / rps_p
    print(f"loopback, {title}, worker in its own process, {len(plain_ms)} interleaved requests each:")
    print(f"  {'':<8} {'median ms':>10} {'p99 ms':>8} {'requests/s':>11}")
    print(f"  {'plain':<8} {med_p:>10.3f} {p99_p:>8.3f} {rps_p:>11.0f}")
    print(f"  {'sealed':<8} {med_s:>10.3f} {p99_s:>8.3f} {rps_s:>11.0f}")
    print(
        f"  added latency: median {added:.3f} ms, p99 {p99_s - p99_p:.3f} ms "
        f"({'within' if added <= LOOPBACK_TARGET_MS else 'over'} the {LOOPBACK_TARGET_MS} ms target)"
    )
    print(
        f"  requests/s sealed / plain: {ratio:.2f} "
        f"({'meets' if ratio >= LOOPBACK_TARGET_RATIO else 'below'} the {LOOPBACK_TARGET_RATIO}× target)"
    )
    for name in ("plain", "sealed"):
        client_ms = statistics.median(c for c, _ in cpu[name])
        worker_ms = statistics.median(w for _, w in cpu[name])
        print(f"  CPU per {name} request: client {client_ms:.3f} ms, worker {worker_ms:.3f} ms")


def _loopback(rounds: int, bulk: int, receipt_key: str) -> None:
    try:
        import httpx

        from attestgw.appraisal import load_policy
        from attestgw.client import AttestedTransport
    except ImportError as exc:  # pragma: no cover - the client needs httpx, a core dependency
        print(f"loopback: skipped ({exc})")
        return
    for module in ("torch", "transformers", "starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            print(f"loopback: skipped (the worker needs {module}: install the worker extra)")
            return
    with tempfile.TemporaryDirectory() as state:
        proc, summary = _start_worker(Path(state), receipt_key)
        try:
            url = str(summary["url"])
            policy = load_policy(str(summary["policy"]))
            with (
                httpx.Client(base_url=url) as plain,
                httpx.Client(transport=AttestedTransport(url, policy)) as sealed,
            ):
                models = _measure(
                    lambda: plain.get("/plain/v1/models").raise_for_status(),
                    lambda: sealed.get("http://worker/v1/models").raise_for_status(),
                    rounds, bulk, proc.pid,
                )  # fmt: skip
                small = _measure(
                    lambda: plain.post("/plain/v1/chat/completions", json=_SMALL_PROMPT).raise_for_status(),
                    lambda: sealed.post("http://worker/v1/chat/completions", json=_SMALL_PROMPT).raise_for_status(),
                    max(rounds // 10, 50), max(bulk // 10, 50), proc.pid,
                )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    alg = summary.get("receipt_key_alg", "?")
    _report(f"GET /v1/models (no model work: the channel's whole cost), {alg} receipts", models)
    _report(f"a small prompt (1-token chat completion of the tiny model), {alg} receipts", small)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--loopback-rounds", type=int, default=2000)
    parser.add_argument("--loopback-bulk", type=int, default=1000, help="back-to-back requests per block")
    parser.add_argument("--no-loopback", action="store_true", help="skip the loopback comparison")
    parser.add_argument(
        "--receipt-key",
        choices=["ed25519", "p256", "both"],
        default="both",
        help="the worker's receipt key for the loopback part (both: one worker each, one after the other)",
    )
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
    floor = _public_key_floor(args.rounds)
    hpke = floor["X25519 keygen"] + 2 * floor["X25519 DH"]
    print(
        "public-key operations per sealed request alone (medians): "
        + ", ".join(f"{name} {us:.1f} µs" for name, us in floor.items())
    )
    for algorithm in ("Ed25519", "ES256"):
        total = hpke + floor[f"{algorithm} sign"] + floor[f"{algorithm} verify"]
        print(f"  keygen + 2 DH + {algorithm} receipt sign + verify = {total:.1f} µs")
    if args.no_loopback:
        print("loopback: skipped (--no-loopback)")
    else:
        for receipt_key in ("ed25519", "p256") if args.receipt_key == "both" else (args.receipt_key,):
            _loopback(args.loopback_rounds, args.loopback_bulk, receipt_key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
