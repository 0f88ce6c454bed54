"""The worker's settings and the services it is given (no globals: ``create_app(settings, services)``).

:class:`WorkerSettings` is plain data (limits, the served model, switches); :class:`WorkerServices`
holds the collaborators the worker calls: the CPU attester, the optional GPU attester, the inner
OpenAI-compatible ASGI app and the clock. Tests pass fakes for any of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp

from attestgw.attester.base import CpuAttester, GpuAttester
from attestgw.crypto.receipt_keys import ED25519, RECEIPT_ALGORITHMS

__all__ = ["INFERENCE_PATHS", "ServedModel", "WorkerServices", "WorkerSettings"]

#: Inner routes whose JSON body must name the served model (``model``), checked before dispatch.
INFERENCE_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class ServedModel:
    """The model this worker serves: its id (what requests name) and its manifest digest (64 hex)."""

    id: str
    digest: str

    def __post_init__(self) -> None:
        if not 0 < len(self.id) <= 256 or not self.id.isprintable():
            raise ValueError(f"model id must be 1-256 printable characters, got {self.id!r}")
        if not _HEX64.match(self.digest):
            raise ValueError("model digest must be 64 lowercase hex digits")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the worker serves and its limits.

    ``max_request_bytes``: the largest outer body accepted on ``/ohttp`` and ``/ohttp-chunked``
    (413 ``worker.request_too_large`` beyond it). ``pq_key``: also offer an X-Wing key configuration
    (key id 2) after the X25519 one (key id 1). ``bench_plaintext``: serve the inner app unsealed at
    ``/plain/...`` for the channel benchmark — INSECURE, off by default. ``replay_*``: the OHTTP
    replay window. ``date_skew_s``: how far in the future an inner ``Date`` may be.
    ``receipt_algorithm``: the receipt key's, ``"Ed25519"`` (default) or ``"ES256"`` (ECDSA P-256).
    """

    model: ServedModel
    max_request_bytes: int = 4 * 1024 * 1024
    pq_key: bool = False
    bench_plaintext: bool = False
    replay_max_entries: int = 131_072
    replay_max_age_s: float = 300.0
    date_skew_s: float = 60.0
    inference_paths: frozenset[str] = INFERENCE_PATHS
    receipt_algorithm: str = ED25519

    def __post_init__(self) -> None:
        if self.receipt_algorithm not in RECEIPT_ALGORITHMS:
            raise ValueError(f"receipt_algorithm must be one of {RECEIPT_ALGORITHMS}")
        if self.max_request_bytes < 1024:
            raise ValueError("max_request_bytes must be at least 1024")
        if self.date_skew_s < 0:
            raise ValueError("date_skew_s must be >= 0")


@dataclass(frozen=True, slots=True)
class WorkerServices:
    """The worker's collaborators.

    ``cpu_attester``: produces the evidence (configfs-tsm, or the simulated backend). ``inner_app``:
    the OpenAI-compatible ASGI app requests are dispatched to in-process (its lifespan runs with the
    worker's). ``gpu_attester``: GPU evidence, ``None`` without GPUs. ``clock``: Unix seconds, for
    the replay window, the inner ``Date`` check and receipt times.
    """

    cpu_attester: CpuAttester
    inner_app: ASGIApp
    gpu_attester: GpuAttester | None = None
    clock: Callable[[], float] = time.time
