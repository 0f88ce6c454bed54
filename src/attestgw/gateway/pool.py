"""The worker pool: admission by attestation, upkeep, and the choice of a worker for each request.

A configured worker is routable only while it is **admitted** and **healthy**:

1. *Admission* — the gateway sends ``GET /attestation`` with its own fresh 32-byte nonce and decides
   with :func:`attestgw.attestation.appraise_bundle` against the operator's worker policy (in a
   thread: verification is CPU work). Only an affirmed bundle admits the worker, and only if it lists
   every model the settings assign it (``gateway.worker_model_mismatch``); with no models in the
   settings, the bundle's ``models`` list is what it serves. Every appraisal with evidence is recorded
   (``attestation.appraised``: status, failed codes, EAR, measurement, with the bundle, nonce and
   policy bytes stored beside the entry for audit), and an admission (``worker.admitted``: the
   attestation entry it rests on, instance digest, models) *before* the worker gets traffic; a failed
   record refuses it.
2. *Re-attestation* every ``reattest_interval_s``; a failure evicts the worker (``worker.evicted``
   with the code and the attestation it had rested on).
3. *Health* every ``health_interval_s``: ``GET /ohttp-keys`` must answer the exact attested bytes.
   Other bytes mean the worker restarted with new keys: it is evicted
   (``gateway.worker_keys_changed``) and attested again at once. An unreachable worker is marked
   unhealthy (not evicted) until a probe succeeds; a relay failure marks it and wakes its probe.

Choice (:meth:`WorkerPool.choose`): admitted, healthy workers serving the model; if the request
names a key id (the first byte of a sealed request), only workers whose attested key configs hold it;
if the client names the SHA-256 of the ``application/ohttp-keys`` body it attested
(``Attestgw-Key-Config``), only that worker (sticky routing: a sealed request opens only at the
worker whose key it was sealed to). The rest are ordered least in-flight first, ties in rotation.

Not done here: anything about the requests themselves (:mod:`attestgw.gateway.relay`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from attestgw.appraisal import build_ear
from attestgw.attestation import AttestationRefused, BundlePolicy, appraise_bundle, measurement_of
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError, ConfigError
from attestgw.gateway.observability import Metrics
from attestgw.gateway.ports import Recorder
from attestgw.gateway.problems import GatewayError
from attestgw.gateway.settings import PoolSettings, WorkerEndpoint
from attestgw.gateway.upstream import ConnectFailed, Upstream
from attestgw.log.recorder import attestation_fields

__all__ = ["Admission", "Worker", "WorkerPool"]


@dataclass(frozen=True, slots=True)
class Admission:
    """What the gateway learnt from an affirmed bundle (public values only)."""

    models: tuple[str, ...]
    key_ids: frozenset[int]
    ohttp_keys: bytes
    ohttp_keys_sha256: str
    measurement: str
    instance: str
    simulated: bool
    at: datetime
    #: the evidence-log index of the ``attestation.appraised`` record this admission rests on
    attestation_index: int = 0


class Worker:
    """One configured worker and its current state (mutated only on the event loop)."""

    __slots__ = ("admission", "endpoint", "healthy", "in_flight", "last_code", "next_attest", "wake")

    def __init__(self, endpoint: WorkerEndpoint) -> None:
        self.endpoint = endpoint
        self.admission: Admission | None = None
        self.healthy = False
        self.in_flight = 0
        self.last_code: str | None = None
        self.next_attest = 0.0
        self.wake = asyncio.Event()

    @property
    def id(self) -> str:
        return self.endpoint.worker_id

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def routable(self) -> bool:
        return self.admission is not None and self.healthy

    def __repr__(self) -> str:
        return f"Worker({self.id!r}, admitted={self.admission is not None}, healthy={self.healthy})"


class WorkerPool:
    """The configured workers; :meth:`start` begins admission and upkeep, :meth:`stop` ends them.

    ``policy_bytes`` are the exact bytes ``policy`` was parsed from (checked against its digest): the
    log keeps them beside each attestation record so an auditor re-appraises with the same policy.
    """

    def __init__(
        self,
        endpoints: tuple[WorkerEndpoint, ...],
        policy: BundlePolicy,
        settings: PoolSettings,
        recorder: Recorder,
        *,
        policy_bytes: bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if hashlib.sha256(policy_bytes).hexdigest() != policy.digest:
            raise ConfigError(
                "config.gateway_invalid", "policy_bytes are not the bytes the policy was read from"
            )
        self.workers = tuple(Worker(e) for e in endpoints)
        self._policy = policy
        self._policy_bytes = policy_bytes  # stored beside every attestation record, for the auditor
        self._settings = settings
        self._recorder = recorder
        self._clock = clock
        self._turn = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._upstream: Upstream | None = None
        self._metrics: Metrics | None = None
        self._log: Any = None

    # -- choice ------------------------------------------------------------------------------------

    def models(self) -> tuple[str, ...]:
        """Models with at least one admitted worker, sorted."""
        return tuple(sorted({m for w in self.workers if w.admission for m in w.admission.models}))

    def knows(self, model: str) -> bool:
        """Whether ``model`` may be served here (configured, attested, or not yet knowable)."""
        for w in self.workers:
            if model in w.endpoint.models or (w.admission is not None and model in w.admission.models):
                return True
            if not w.endpoint.models and w.admission is None:
                return True  # a worker that has not told us its models yet
        return False

    def ready(self) -> bool:
        return any(w.routable for w in self.workers)

    def choose(
        self, model: str, *, key_id: int | None = None, keys_sha256: str | None = None
    ) -> list[Worker]:
        """Candidates for a request, best first (see module docstring); empty when none qualifies."""
        found = []
        for w in self.workers:
            a = w.admission
            if a is None or not w.healthy or model not in a.models:
                continue
            if key_id is not None and key_id not in a.key_ids:
                continue
            if keys_sha256 is not None and not hmac.compare_digest(a.ohttp_keys_sha256, keys_sha256):
                continue
            found.append(w)
        if len(found) > 1:
            shift = next(self._turn) % len(found)
            found = found[shift:] + found[:shift]
            found.sort(key=lambda w: w.in_flight)
        return found

    @contextmanager
    def lease(self, worker: Worker) -> Iterator[Worker]:
        """Count one in-flight request on ``worker`` for the ``with`` body."""
        worker.in_flight += 1
        try:
            yield worker
        finally:
            worker.in_flight -= 1

    def mark_failed(self, worker: Worker, code: str) -> None:
        """A relay could not complete with ``worker``: stop routing to it until a probe succeeds."""
        worker.healthy = False
        worker.wake.set()
        self._count_error(worker, code)
        self._log_event("worker.unhealthy", worker, code=code)
        self._gauges()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, upstream: Upstream, metrics: Metrics, log: Any) -> None:
        """Begin admission of every worker (concurrently) and the upkeep loops."""
        self._upstream, self._metrics, self._log = upstream, metrics, log
        self._gauges()
        self._tasks = [asyncio.create_task(self._tend(w), name=f"tend {w.id}") for w in self.workers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until at least one worker is routable (or ``timeout`` seconds passed)."""
        deadline = time.monotonic() + timeout
        while not self.ready() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.ready()

    async def _tend(self, worker: Worker) -> None:
        while True:
            try:
                if worker.admission is None or time.monotonic() >= worker.next_attest:
                    await self.attest(worker)
                else:
                    await self.probe(worker)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let one worker's upkeep die silently
                self._log_event("worker.upkeep_failed", worker, error=type(exc).__name__)
            worker.wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(worker.wake.wait(), self._settings.health_interval_s)

    # -- admission and health ---------------------------------------------------------------------

    async def _appraise(self, worker: Worker) -> Admission:
        upstream = self._require_upstream()
        nonce = os.urandom(32)
        answer = await upstream.get(worker.url + "/attestation", params={"nonce": nonce.hex()})
        if answer.status != 200:
            raise GatewayError("gateway.upstream_failed", f"GET /attestation answered {answer.status}")
        at = self._clock()
        evidence = {"bundle": answer.body, "nonce": nonce, "policy": self._policy_bytes}
        valid_for = timedelta(seconds=self._settings.reattest_interval_s)
        try:
            appraised = await asyncio.to_thread(appraise_bundle, answer.body, nonce, self._policy, at=at)
        except AttestationRefused as err:  # genuine evidence the policy refused: recorded with its rules
            ear = build_ear(err.result, issued_at=at, nonce=nonce)
            claims = err.cpu_claims
            fields = attestation_fields(
                worker=worker.id, status=err.status.value, codes=err.codes, verified_at=at,
                valid_for=valid_for, ear=ear, measurement=measurement_of(claims) if claims else None,
                instance_digest=None, simulated=claims.simulated if claims is not None else False,
                tee="tdx" if err.tdx_claims is not None else "snp",
            )  # fmt: skip
            await self._record("attestation.appraised", {**fields, **evidence})
            raise
        except AttestgwError as err:  # unreadable or not genuine: recorded with the code
            fields = attestation_fields(
                worker=worker.id, status="contraindicated", codes=(err.code,), verified_at=at,
                valid_for=valid_for, ear=None, measurement=None, instance_digest=None, simulated=False,
            )  # fmt: skip
            await self._record("attestation.appraised", {**fields, **evidence})
            raise
        ear = build_ear(appraised.result, issued_at=at, nonce=nonce, expires_at=at + valid_for)
        fields = attestation_fields(
            worker=worker.id, status=appraised.result.status.value,
            codes=tuple(f.code for f in appraised.result.warnings), verified_at=at, valid_for=valid_for,
            ear=ear, measurement=appraised.measurement, instance_digest=appraised.instance_digest,
            simulated=appraised.simulated, tee=appraised.tee,
        )  # fmt: skip
        index = await self._record("attestation.appraised", {**fields, **evidence})
        listed = tuple(m.id for m in appraised.bundle.models)
        missing = [m for m in worker.endpoint.models if m not in listed]
        if missing:
            raise GatewayError(
                "gateway.worker_model_mismatch",
                f"got models {list(listed)}, want {list(worker.endpoint.models)}",
            )
        keys = appraised.bundle.ohttp_keys
        return Admission(
            models=worker.endpoint.models or listed,
            key_ids=frozenset(c.key_id for c in appraised.key_configs),
            ohttp_keys=keys,
            ohttp_keys_sha256=hashlib.sha256(keys).hexdigest(),
            measurement=appraised.measurement.hex(),
            instance=appraised.instance_digest.hex(),
            simulated=appraised.simulated,
            at=at,
            attestation_index=index if index is not None else 0,
        )

    async def attest(self, worker: Worker) -> None:
        """Attest ``worker`` now: admit (or renew) it, or refuse / evict it (module docstring)."""
        try:
            async with asyncio.timeout(self._settings.attestation_timeout_s):
                admission = await self._appraise(worker)
                await self._record("worker.admitted", self._admitted_fields(worker, admission))
        except ConnectFailed:
            self._refuse(worker, "worker.unreachable")
        except TimeoutError:
            self._refuse(worker, "gateway.upstream_timeout")
        except AttestgwError as err:
            self._refuse(worker, err.code)
        else:
            renewal = worker.admission is not None
            worker.admission, worker.healthy, worker.last_code = admission, True, None
            worker.next_attest = time.monotonic() + self._settings.reattest_interval_s
            self._count("admitted")
            self._log_event("worker.admitted", worker, renewal=renewal, simulated=admission.simulated)
        self._gauges()

    def _admitted_fields(self, worker: Worker, admission: Admission) -> dict[str, object]:
        return {
            "worker": worker.id,
            "attestation_index": admission.attestation_index,
            "instance_digest": admission.instance,
            "models": list(admission.models),
        }

    def _refuse(self, worker: Worker, code: str) -> None:
        if worker.admission is not None:
            self._evict(worker, code)
            return
        worker.healthy = False
        if code != worker.last_code:  # the attestation record (when there was evidence) says why
            self._count("refused")
        worker.last_code = code
        self._log_event("worker.refused", worker, code=code)

    def _evict(self, worker: Worker, code: str) -> None:
        admitted_on = worker.admission.attestation_index if worker.admission is not None else None
        worker.admission, worker.healthy, worker.last_code = None, False, code
        fields: dict[str, object] = {"worker": worker.id, "reason": code}
        if admitted_on is not None:
            fields["attestation_index"] = admitted_on
        self._record_soon("worker.evicted", fields)
        self._count("evicted")
        self._log_event("worker.evicted", worker, code=code)

    async def probe(self, worker: Worker) -> None:
        """Health check: the worker answers its attested key configs, byte for byte."""
        admission = worker.admission
        if admission is None:
            return
        try:
            answer = await self._require_upstream().get(worker.url + "/ohttp-keys")
        except (ConnectFailed, AttestgwError) as exc:
            if worker.healthy:
                worker.healthy = False
                code = exc.code if isinstance(exc, AttestgwError) else "worker.unreachable"
                self._count_error(worker, code)
                self._log_event("worker.unhealthy", worker, code=code)
            self._gauges()
            return
        if answer.status == 200 and hmac.compare_digest(answer.body, admission.ohttp_keys):
            if not worker.healthy:
                self._log_event("worker.healthy", worker)
            worker.healthy = True
        elif answer.status == 200:
            self._evict(worker, "gateway.worker_keys_changed")
            await self.attest(worker)
        else:
            worker.healthy = False
        self._gauges()

    # -- records, logs, metrics --------------------------------------------------------------------

    def _require_upstream(self) -> Upstream:
        if self._upstream is None:
            raise RuntimeError("the pool is not started")
        return self._upstream

    async def _record(self, kind: str, fields: dict[str, object]) -> int | None:
        try:
            return await asyncio.to_thread(self._recorder.record, kind, fields)
        except AttestgwError:
            raise
        except Exception as exc:
            raise GatewayError(
                "gateway.internal_error", f"the recorder failed ({type(exc).__name__})"
            ) from None

    def _record_soon(self, kind: str, fields: dict[str, object]) -> None:
        # Refusals and evictions take effect at once; their record follows without holding the pool.
        task = asyncio.get_running_loop().create_task(self._record_quietly(kind, fields))
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def _record_quietly(self, kind: str, fields: dict[str, object]) -> None:
        try:
            await self._record(kind, fields)
        except AttestgwError as err:
            if self._log is not None:
                self._log.error("record.failed", kind=kind, code=err.code)

    def _log_event(self, event: str, worker: Worker, **fields: object) -> None:
        if self._log is not None:
            self._log.info(event, worker=worker.id, **fields)

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.admissions.labels(outcome).inc()

    def _count_error(self, worker: Worker, code: str) -> None:
        if self._metrics is not None:
            self._metrics.upstream_errors.labels(worker.id, code).inc()

    def _gauges(self) -> None:
        if self._metrics is None:
            return
        self._metrics.workers.labels("admitted").set(sum(w.admission is not None for w in self.workers))
        self._metrics.workers.labels("healthy").set(sum(w.routable for w in self.workers))
        self._metrics.workers.labels("refused").set(sum(w.admission is None for w in self.workers))
