"""Benchmark: what the gateway costs a sealed request, against the worker alone, at 32 concurrent clients.

    .venv/bin/python bench/gateway.py [--clients 32] [--processes 2] [--duration 5] [--repetitions 3]
                                      [--request models|completion]

Started on loopback, each in its own process: the worker (``attestgw worker serve --tee simulated-snp
--model tiny``), the gateway (``attestgw gateway serve`` with the real services: OIDC token validation,
Cedar authorization with the shipped policies, quotas set out of the way, the SQLite evidence log,
access logs on, written to a file), and — in a thread of this process, used only while the gateway
fetches its keys — the development token issuer. Each client gets its own ES256 access token (its own
subject, group ``attestgw-users``).

The clients: ``--processes`` client processes (default 2, one per core of the target machine), each
running ``--clients / --processes`` asyncio clients; every client has its own
``AsyncAttestedTransport`` and ``httpx.AsyncClient`` (its own keep-alive connection), and the clients
of a process share one attested session per target (a ``SessionCache``). Each client loops: seal →
POST → open → verify the receipt. Several processes, so that one interpreter's GIL is not the limit
being measured; asyncio rather than threads, because it costs less CPU per request.

The request (``--request``): ``models`` — a sealed ``GET /v1/models`` (the cheapest request the model
does not dominate), or ``completion`` — a sealed 1-token chat completion of the tiny model. Targets:
(a) the worker directly (``{worker}/v1/models/tiny/ohttp``); (b) through the gateway
(``{gateway}/v1/models/tiny/ohttp``: token validation, authorization, quota, evidence-log record, relay).

Measured: after a warm-up block per target, ``--repetitions`` pairs of blocks of ``--duration`` seconds,
(a) and (b) alternated (the order flips every repetition) so that machine noise hits both. Per block:
requests/s (completed requests over the time from the common start to the last completion), p50 and
p99 latency over all clients, and CPU per request of each party — the client processes (their own
``process_time``; this is the client's cost, measured separately from the servers'), the gateway and
the worker (``/proc/PID/stat``), how busy the whole machine was (``/proc/stat``) and which share of it
went to processes outside the benchmark ("others": noise on a shared machine). Then the medians
over the repetitions and the ratios (b)/(a) of the medians against the targets (requests/s ≥ 0.5×,
p99 ≤ 3×). Everything shares the machine's cores: the client's CPU is taken from the same budget as the
servers', which is why it is printed. Asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import httpx

AUDIENCE = "http://gateway.bench"
MODEL = "tiny"
TARGETS = {"a": "(a) worker direct", "b": "(b) via gateway"}
TARGET_RPS_RATIO = 0.5
TARGET_P99_RATIO = 3.0


# --- client processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    """What one client process needs: where to send, as whom, how many clients, which request."""

    urls: dict[str, str]
    policy: str
    tokens: list[str]
    request: str


@dataclass(frozen=True)
class BlockResult:
    latencies_ms: list[float]
    last_end: float
    cpu_s: float
    errors: list[str]


def _send(client: httpx.AsyncClient, request: str) -> Any:
    if request == "models":
        return client.get("http://worker/v1/models")
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    return client.post("http://worker/v1/chat/completions", json=body)


async def _client_loop(
    client: httpx.AsyncClient,
    request: str,
    start: float,
    deadline: float,
    out: list[float],
    errors: list[str],
) -> float:
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    end = start
    while (t0 := time.monotonic()) < deadline:
        try:
            response = await _send(client, request)
            response.raise_for_status()
        except Exception as exc:  # a benchmark counts failures, it does not stop on them
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        end = time.monotonic()
        out.append((end - t0) * 1e3)
    return end


def _client_process(conn: Connection, plan: ClientPlan) -> None:
    """One client process: build the clients, attest, then run blocks as the coordinator asks."""
    asyncio.run(_client_main(conn, plan))


async def _client_main(conn: Connection, plan: ClientPlan) -> None:
    from attestgw.appraisal import load_policy
    from attestgw.client import AsyncAttestedTransport, SessionCache

    policy = load_policy(plan.policy)
    clients: dict[str, list[httpx.AsyncClient]] = {}
    for target, url in plan.urls.items():
        cache = SessionCache()  # one attestation per target and process; transports stay per client
        clients[target] = [
            httpx.AsyncClient(
                transport=AsyncAttestedTransport(url, policy, cache=cache, model=MODEL, token=token),
                timeout=60.0,
            )
            for token in plan.tokens
        ]
    for target in plan.urls:  # attest and open every connection before the coordinator starts the clock
        for response in await asyncio.gather(*(_send(c, plan.request) for c in clients[target])):
            response.raise_for_status()
    conn.send("ready")
    while (command := await asyncio.to_thread(conn.recv)) is not None:
        target, start, deadline = command
        latencies: list[float] = []
        errors: list[str] = []
        cpu0 = time.process_time()
        loops = [_client_loop(c, plan.request, start, deadline, latencies, errors) for c in clients[target]]
        ends = await asyncio.gather(*loops)
        conn.send(BlockResult(latencies, max(ends), time.process_time() - cpu0, errors[:5]))
    for target in plan.urls:
        for client in clients[target]:
            await client.aclose()


# --- the servers -----------------------------------------------------------------------------------


def _start(command: list[str], log: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A server CLI in its own process; its one-line JSON summary. Its logs go to ``log``."""
    err: IO[str] = log.open("w")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise RuntimeError(f"{command[3]} did not start (exit {proc.returncode}); see {log}")
    stdout = proc.stdout
    threading.Thread(target=stdout.read, daemon=True).start()  # never block on a full pipe
    return proc, json.loads(line)


def _start_issuer() -> Any:
    """The development issuer on an ephemeral loopback port, in a daemon thread of this process."""
    import uvicorn

    from attestgw.devissuer import DevIssuer

    issuer = DevIssuer("http://pending", AUDIENCE)
    sock = socket.create_server(("127.0.0.1", 0))
    issuer.serve_at(f"http://127.0.0.1:{sock.getsockname()[1]}")
    config = uvicorn.Config(issuer.app(), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the development issuer did not start")
        time.sleep(0.01)
    return issuer


def _gateway_settings(state: Path, worker_url: str, policy: str, issuer: str) -> Path:
    from attestgw.cli._stack import gateway_settings

    path = state / "gateway.toml"
    text = gateway_settings(
        state, worker_url=worker_url, model=MODEL, policy=Path(policy), issuer=issuer,
        audience=AUDIENCE, rate=1_000_000.0, burst=1_000_000, origin="attestgw.bench/gateway",
    )  # fmt: skip
    path.write_text(text)
    return path


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the gateway admitted no worker")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


# --- measuring --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    rps: float
    p50: float
    p99: float
    requests: int
    client_ms: float
    gateway_ms: float
    worker_ms: float
    busy: float
    others: float
    errors: int


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run_block(conns: list[Connection], target: str, duration: float, pids: dict[str, int]) -> Block:
    cpu0 = {name: _cpu_s(pid) for name, pid in pids.items()}
    busy0, total0 = _machine_ticks()
    start = time.monotonic() + 0.2  # every process waits for the same start
    for conn in conns:
        conn.send((target, start, start + duration))
    results: list[BlockResult] = [conn.recv() for conn in conns]
    busy1, total1 = _machine_ticks()
    cpu = {name: _cpu_s(pid) - cpu0[name] for name, pid in pids.items()}
    latencies = [v for r in results for v in r.latencies_ms]
    errors = [e for r in results for e in r.errors]
    for error in errors[:3]:
        print(f"  error ({TARGETS[target]}): {error}")
    n = max(1, len(latencies))
    ticks = os.sysconf("SC_CLK_TCK")
    ours_s = sum(r.cpu_s for r in results) + cpu["gateway"] + cpu["worker"]
    return Block(
        rps=len(latencies) / (max(r.last_end for r in results) - start),
        p50=_percentile(latencies, 0.50) if latencies else float("nan"),
        p99=_percentile(latencies, 0.99) if latencies else float("nan"),
        requests=len(latencies),
        client_ms=sum(r.cpu_s for r in results) / n * 1e3,
        gateway_ms=cpu["gateway"] / n * 1e3 if target == "b" else 0.0,
        worker_ms=cpu["worker"] / n * 1e3,
        busy=(busy1 - busy0) / max(1, total1 - total0),
        others=max(0.0, (busy1 - busy0) / ticks - ours_s) / max(1e-9, (total1 - total0) / ticks),
        errors=len(errors),
    )


def _row(label: str, b: Block) -> str:
    return (
        f"{label:<22} {b.rps:>10.0f} {b.p50:>8.2f} {b.p99:>8.2f} {b.client_ms:>8.3f} {b.gateway_ms:>8.3f} "
        f"{b.worker_ms:>8.3f} {b.busy * 100:>5.0f}% {b.others * 100:>6.0f}% {b.requests:>8} {b.errors:>4}"
    )


def _median_block(blocks: list[Block]) -> Block:
    fields = Block.__dataclass_fields__
    values = {f: statistics.median(getattr(b, f) for b in blocks) for f in fields}
    return Block(**{f: int(v) if f in ("requests", "errors") else v for f, v in values.items()})


def _server_stack() -> str:
    """Which HTTP parser and event loop uvicorn's ``auto`` settings pick in this environment."""
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11 (httptools not installed)"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio (uvloop not installed)"
    return f"uvicorn HTTP parser: {parser}; event loop: {loop} (worker, gateway and clients alike)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients in all")
    parser.add_argument("--processes", type=int, default=2, help="client processes sharing the clients")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured block")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument("--repetitions", type=int, default=3, help="(a, b) pairs of blocks (≥ 3)")
    parser.add_argument("--request", choices=("models", "completion"), default="models")
    args = parser.parse_args()
    if args.clients < args.processes or args.repetitions < 1:
        parser.error("want --clients ≥ --processes ≥ 1 and --repetitions ≥ 1")
    inner = "GET /v1/models" if args.request == "models" else "POST /v1/chat/completions (max_tokens 1)"
    print(f"gateway overhead: sealed {inner}, {args.clients} concurrent clients over loopback")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); {_server_stack()}")
    print(
        f"clients: {args.processes} processes × ~{args.clients // args.processes} asyncio clients, "
        f"one connection each; {args.repetitions} × {args.duration:g} s blocks per target, alternated"
    )
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        issuer = _start_issuer()
        worker_cmd = [
            sys.executable, "-m", "attestgw", "worker", "serve", "--tee", "simulated-snp", "--model", MODEL,
            "--listen", "127.0.0.1:0", "--state-dir", str(state / "worker"), "--json",
        ]  # fmt: skip
        worker, summary = _start(worker_cmd, state / "worker.log")
        procs = [worker]
        try:
            settings = _gateway_settings(state, summary["url"], summary["policy"], issuer.issuer)
            gateway_cmd = [
                sys.executable,
                "-m",
                "attestgw",
                "gateway",
                "serve",
                "--config",
                str(settings),
                "--json",
            ]
            gateway, gateway_summary = _start(gateway_cmd, state / "gateway.log")
            procs.append(gateway)
            _wait_ready(gateway_summary["url"])
            urls = {"a": summary["url"], "b": gateway_summary["url"]}
            tokens = [
                issuer.mint(f"bench-{i}", groups=["attestgw-users"], scopes=["inference"], ttl_s=6 * 3600)
                for i in range(args.clients)
            ]
            _measure(
                args, urls, str(summary["policy"]), tokens, {"gateway": gateway.pid, "worker": worker.pid}
            )
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(timeout=30)
    return 0


def _measure(
    args: argparse.Namespace, urls: dict[str, str], policy: str, tokens: list[str], pids: dict[str, int]
) -> None:
    context = multiprocessing.get_context("spawn")  # this process runs threads: never fork it
    conns, clients = [], []
    for i in range(args.processes):
        ours, theirs = context.Pipe()
        plan = ClientPlan(urls, policy, tokens[i :: args.processes], args.request)
        proc = context.Process(target=_client_process, args=(theirs, plan), daemon=True)
        proc.start()
        conns.append(ours)
        clients.append(proc)
    try:
        for conn in conns:
            if conn.recv() != "ready":
                raise RuntimeError("a client process failed to start")
        busy0, total0 = _machine_ticks()
        time.sleep(1.0)
        busy1, total1 = _machine_ticks()
        idle_busy = (busy1 - busy0) / max(1, total1 - total0)
        print(f"machine busy with the benchmark idle (other processes): {idle_busy * 100:.0f}%")
        for target in TARGETS:
            _run_block(conns, target, args.warmup, pids)
        blocks: dict[str, list[Block]] = {t: [] for t in TARGETS}
        head = (
            f"{'':<22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'client':>8} {'gateway':>8} "
            f"{'worker':>8} {'busy':>6} {'others':>7} {'requests':>8} {'errs':>4}"
        )
        print(f"{'':<22} {'':>10} {'':>8} {'':>8} {'(CPU ms per request)':^26}")
        print(head)
        for rep in range(args.repetitions):
            order = list(TARGETS) if rep % 2 == 0 else list(reversed(TARGETS))
            for target in order:
                block = _run_block(conns, target, args.duration, pids)
                blocks[target].append(block)
                print(_row(f"{TARGETS[target]} #{rep + 1}", block))
        med = {t: _median_block(blocks[t]) for t in TARGETS}
        print(f"medians of {args.repetitions} repetitions:")
        for target, label in TARGETS.items():
            print(_row(label, med[target]))
        rps_ratio = med["b"].rps / med["a"].rps
        p99_ratio = med["b"].p99 / med["a"].p99
        print(
            f"(b)/(a) requests/s: {rps_ratio:.2f} "
            f"({'meets' if rps_ratio >= TARGET_RPS_RATIO else 'below'} the ≥ {TARGET_RPS_RATIO}× target)"
        )
        print(
            f"p99(b)/p99(a): {p99_ratio:.2f} "
            f"({'meets' if p99_ratio <= TARGET_P99_RATIO else 'over'} the ≤ {TARGET_P99_RATIO:g}× target)"
        )
        a_cpu = med["a"].client_ms + med["a"].worker_ms
        b_cpu = med["b"].client_ms + med["b"].gateway_ms + med["b"].worker_ms
        print(
            f"CPU per request, all parties: (a) {a_cpu:.3f} ms, (b) {b_cpu:.3f} ms; (a)/(b) = {a_cpu / b_cpu:.2f} "
            "(the requests/s ratio where these processes alone saturate every core)"
        )
        for target, label in TARGETS.items():
            b = med[target]
            share = b.client_ms / (b.client_ms + b.gateway_ms + b.worker_ms)
            print(f"client share of the parties' CPU, {label}: {share * 100:.0f}%")
    finally:
        for conn in conns:
            with contextlib.suppress(OSError):  # a client process that failed has closed its end
                conn.send(None)
        for proc in clients:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()


if __name__ == "__main__":
    raise SystemExit(main())
