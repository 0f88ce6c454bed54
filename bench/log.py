"""Benchmark: the evidence log — appends, proofs at 1e6 entries, audit speed.

    .venv/bin/python bench/log.py [--entries N] [--tree 1000000] [--attestations 20] [--postgres URL]

Prints, each a median of several rounds where it says so:
- appends/s on SQLite and on PostgreSQL: one caller appending one at a time (each waits for its
  commit), and batched (N submits in flight, group-committed by the sequencer). PostgreSQL is the
  server at ``--postgres URL`` (an empty database), else a throwaway local server started like the
  tests do (unix socket only; skipped with the reason when no server binaries are installed);
- inclusion and consistency proof generation and verification in µs, on a tree of ``--tree`` leaves;
- audit verify entries/s over the batched SQLite log, without evidence re-verification, and the
  rate of re-verifying stored simulated SEV-SNP attestations.
Targets (issue 5): ≥ 20,000 batched appends/s on SQLite, proofs ≤ 100 µs to verify, audit ≥ 20,000
entries/s excluding evidence re-verification. It asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the simulated worker and record builders live in tests/

from attestgw.audit import audit_log  # noqa: E402
from attestgw.log import BatchSettings, LogRecorder, LogStore, SqliteBackend, build_record  # noqa: E402
from attestgw.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion  # noqa: E402
from tests.unit.log.logdata import ORIGIN, SIGNER, Clock, denial, open_store, populate  # noqa: E402

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _records(n: int) -> list:
    return [build_record("authorization.denied", denial(i), at=AT) for i in range(n)]


def bench_appends(make_store, label: str, entries: int) -> None:
    records = _records(entries)
    with make_store(BatchSettings(max_entries=1, max_delay=0.0)) as store:
        single = min(500, entries)
        t0 = time.perf_counter()
        for record in records[:single]:
            store.append(record)
        dt = time.perf_counter() - t0
    print(
        f"{label}: single appends        {single / dt:12,.0f} /s  ({dt / single * 1e3:.2f} ms each, fsync per append)"
    )
    with make_store(BatchSettings(max_entries=2048, max_delay=0.002)) as store:
        t0 = time.perf_counter()
        futures = [store.submit(record) for record in records]
        for future in futures:
            future.result()
        dt = time.perf_counter() - t0
        checkpoints = store.size
    print(
        f"{label}: batched appends       {entries / dt:12,.0f} /s  ({entries} submits in flight, size {checkpoints})"
    )


def _median_us(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples)


def bench_proofs(size: int) -> None:
    t0 = time.perf_counter()
    leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(size)]
    tree = MerkleTree(leaves)
    print(f"tree of {size:,} leaves built in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(1)
    root = tree.root()
    cases = [(rng.randrange(size), rng.randrange(1, size)) for _ in range(200)]
    it = iter(cases * 10)
    print(
        f"  inclusion proof generate  {_median_us(lambda: tree.inclusion_proof(next(it)[0]), 1000):8.1f} µs"
    )
    proofs = [(i, tree.inclusion_proof(i)) for i, _ in cases]
    it2 = iter(proofs * 10)

    def verify_one() -> None:
        i, proof = next(it2)
        verify_inclusion(leaves[i], i, size, proof, root)

    print(f"  inclusion proof verify    {_median_us(verify_one, 1000):8.1f} µs")
    it3 = iter(cases * 10)
    print(
        f"  consistency generate      {_median_us(lambda: tree.consistency_proof(next(it3)[1]), 1000):8.1f} µs"
    )
    cons = [(old, tree.root(old), tree.consistency_proof(old)) for _, old in cases]
    it4 = iter(cons * 10)

    def verify_cons() -> None:
        old, old_root, proof = next(it4)
        verify_consistency(old, size, proof, old_root, root)

    print(f"  consistency verify        {_median_us(verify_cons, 1000):8.1f} µs")


def bench_audit(path: Path, attestations: int) -> None:
    backend = SqliteBackend(path, readonly=True)
    t0 = time.perf_counter()
    report = audit_log(backend, [SIGNER.verifier], reverify=False)
    dt = time.perf_counter() - t0
    backend.close()
    print(
        f"audit verify (no evidence)  {report.entries / dt:12,.0f} entries/s  ({report.entries} entries, "
        f"{report.checkpoints} checkpoints, ok={report.ok})"
    )
    from tests.unit.client.simulated_worker import SimulatedWorkerKeys

    worker = SimulatedWorkerKeys()
    evidence_db = path.with_name("evidence.db")
    with LogStore(SqliteBackend(evidence_db, origin=ORIGIN), signer=SIGNER) as store:
        clock = Clock()
        recorder = LogRecorder(store, clock=clock)
        for _ in range(attestations):
            populate(recorder, worker, clock, relays=3)
    backend = SqliteBackend(evidence_db, readonly=True)
    t0 = time.perf_counter()
    report = audit_log(backend, [SIGNER.verifier], reverify=True)
    dt = time.perf_counter() - t0
    backend.close()
    print(
        f"audit verify (with evidence) {report.entries / dt:11,.0f} entries/s  "
        f"({report.attestations_reverified / dt:,.0f} attestations re-verified/s; "
        f"{report.entries} entries, ok={report.ok})"
    )


def bench_postgres(url: str | None, entries: int) -> None:
    with contextlib.ExitStack() as stack:
        if url is None:
            from tests.unit.log.pgcluster import cluster_fixture

            try:
                cluster = stack.enter_context(contextlib.contextmanager(cluster_fixture)())
            except BaseException as exc:  # pytest.skip outside pytest, or a server that would not start
                print(f"postgres: not measured ({type(exc).__name__}: {exc})")
                return
            urls = iter(cluster.new_database() for _ in range(2))
        else:
            urls = iter([url, url])

        def postgres_store(batch: BatchSettings) -> LogStore:
            return open_store(next(urls), batch=batch)

        bench_appends(postgres_store, "postgres", entries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--tree", type=int, default=1_000_000)
    parser.add_argument("--attestations", type=int, default=20)
    parser.add_argument(
        "--postgres", help="postgresql:// URL of an empty database (default: a throwaway server)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1000))
        paths: list[Path] = []

        def sqlite_store(batch: BatchSettings) -> LogStore:
            paths.append(Path(tmp) / f"log{next(counter)}.db")
            return LogStore(SqliteBackend(paths[-1], origin=ORIGIN), signer=SIGNER, batch=batch)

        bench_appends(sqlite_store, "sqlite", args.entries)
        bench_postgres(args.postgres, args.entries)
        bench_proofs(args.tree)
        bench_audit(paths[-1], args.attestations)


if __name__ == "__main__":
    main()
