"""Which worker gets a request: model, health, key id, pinned key config, least in flight."""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime

from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.gateway import Admission, WorkerPool
from attestgw.gateway.settings import PoolSettings, WorkerEndpoint
from tests.unit.gateway.local_services import MemoryRecorder


def _pool(count: int) -> WorkerPool:
    endpoints = tuple(WorkerEndpoint(url=f"http://w{i}", models=("tiny",)) for i in range(count))
    return WorkerPool(
        endpoints, _policy(), PoolSettings(policy="p"), MemoryRecorder(), policy_bytes=_policy_text()
    )


@functools.cache
@functools.cache
def _policy_text() -> bytes:
    return SimulatedSnpBackend.create(authority_dir=None, enable_simulation=True).policy_toml().encode()


def _policy() -> SnpPolicy:
    return parse_policy(_policy_text())


def _admit(
    pool: WorkerPool,
    index: int,
    keys: bytes,
    key_ids: tuple[int, ...] = (1,),
    models: tuple[str, ...] = ("tiny",),
) -> None:
    worker = pool.workers[index]
    worker.admission = Admission(
        models=models,
        key_ids=frozenset(key_ids),
        ohttp_keys=keys,
        ohttp_keys_sha256=hashlib.sha256(keys).hexdigest(),
        measurement="00",
        instance="11",
        simulated=True,
        at=datetime.now(UTC),
    )
    worker.healthy = True


def test_only_admitted_healthy_workers_serving_the_model_are_chosen() -> None:
    pool = _pool(4)
    _admit(pool, 0, b"k0")
    _admit(pool, 1, b"k1")
    _admit(pool, 2, b"k2", models=("other",))
    pool.workers[1].healthy = False
    assert [w.url for w in pool.choose("tiny")] == ["http://w0"]
    assert [w.url for w in pool.choose("other")] == ["http://w2"]
    assert pool.choose("nope") == []
    assert pool.ready()


def test_least_in_flight_first_and_ties_rotate() -> None:
    pool = _pool(3)
    for i in range(3):
        _admit(pool, i, bytes([i]))
    pool.workers[0].in_flight = 5
    pool.workers[2].in_flight = 1
    assert [w.url for w in pool.choose("tiny")] == ["http://w1", "http://w2", "http://w0"]
    pool.workers[2].in_flight = 0
    firsts = {pool.choose("tiny")[0].url for _ in range(4)}
    assert firsts == {"http://w1", "http://w2"}  # equal load: both get turns


def test_sticky_by_key_id_and_by_the_attested_key_config() -> None:
    pool = _pool(3)
    _admit(pool, 0, b"keys-a", key_ids=(1,))
    _admit(pool, 1, b"keys-b", key_ids=(1, 2))
    _admit(pool, 2, b"keys-c", key_ids=(7,))
    assert {w.url for w in pool.choose("tiny", key_id=1)} == {"http://w0", "http://w1"}
    assert [w.url for w in pool.choose("tiny", key_id=2)] == ["http://w1"]
    assert [w.url for w in pool.choose("tiny", key_id=7)] == ["http://w2"]
    assert pool.choose("tiny", key_id=9) == []
    pinned = hashlib.sha256(b"keys-a").hexdigest()
    for _ in range(3):  # never rotated away from the attested worker, whatever the load
        pool.workers[0].in_flight += 10
        assert [w.url for w in pool.choose("tiny", key_id=1, keys_sha256=pinned)] == ["http://w0"]
    assert pool.choose("tiny", key_id=2, keys_sha256=pinned) == []


def test_lease_counts_in_flight_and_releases_on_error() -> None:
    pool = _pool(1)
    _admit(pool, 0, b"k")
    worker = pool.workers[0]
    try:
        with pool.lease(worker):
            assert worker.in_flight == 1
            raise RuntimeError
    except RuntimeError:
        pass
    assert worker.in_flight == 0


def test_models_and_knows() -> None:
    pool = _pool(2)
    assert pool.knows("tiny")
    assert not pool.knows("other")
    assert pool.models() == ()
    _admit(pool, 0, b"k")
    assert pool.models() == ("tiny",)
    discovering = WorkerPool(
        (WorkerEndpoint(url="http://d"),),
        _policy(),
        PoolSettings(policy="p"),
        MemoryRecorder(),
        policy_bytes=_policy_text(),
    )
    assert discovering.knows("anything")  # models unknown until the bundle says
