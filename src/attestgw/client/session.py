"""The attested session: what an affirming attestation lets the client do, and a cache of them.

An :class:`AttestedSession` is only built by :func:`attestgw.client.attest.verify_bundle` after the
evidence verified, the policy affirmed it and REPORT_DATA bound the caller's nonce, these
``ohttp_keys`` bytes and this receipt key. It holds what the transports need: the key config to
seal to (decoded from the attested bytes), the receipt key and the instance digest every receipt
must name, the models the worker announced, the appraisal result (and one per GPU for a composite
bundle) and their EAR claims set, and the expiry (attestation time + TTL).

:class:`SessionCache` keeps one session per (worker URL, policy digest) until it expires or the
caller drops it (a key-config change: see :mod:`attestgw.client.transport`). Not checked here:
anything about the evidence — a session is a record of a decision already made.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from attestgw.appraisal import AppraisalResult
from attestgw.attestation.bundle import ModelInfo
from attestgw.client.logcheck import LogInclusion
from attestgw.clock import require_aware
from attestgw.crypto.receipt_keys import receipt_algorithm
from attestgw.errors import FormatError
from attestgw.ohttp import KeyConfig
from attestgw.verify.snp import VerifiedSnpClaims
from attestgw.verify.tdx import VerifiedTdxClaims

__all__ = ["DEFAULT_TTL", "AttestedSession", "SessionCache"]

#: How long an attestation is relied on before the client attests again.
DEFAULT_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class AttestedSession:
    """An affirming attestation of one worker, usable until ``expires_at``.

    ``key_config`` is the config requests are sealed to, chosen from ``key_configs`` (every config
    of the attested ``ohttp_keys`` bytes, in the worker's order). ``instance_digest`` is
    SHA-256("attestgw/instance/v1" ‖ measurement ‖ K ‖ R) of docs/worker-protocol.md §5, recomputed
    from what was verified (its measurement: SEV-SNP MEASUREMENT or TDX MRTD). ``cpu_claims`` are
    the verified SEV-SNP or Intel TDX claims the policy affirmed (``tee`` says which; ``claims`` is
    the SEV-SNP view callers written for SEV-SNP read, ``tdx_claims`` the TDX one);
    ``gpu_results`` the affirming result of every GPU (empty without GPUs); ``ear`` is the unsigned
    EAR claims set of all results, one submodule per device. ``log`` is the verified evidence-log
    inclusion of this attestation (:mod:`attestgw.client.logcheck`), or ``None`` when not checked.
    """

    url: str
    #: the model requests are routed to (``/v1/models/{model_id}/ohttp``)
    model_id: str
    #: the model the caller asked for (``None``: the worker's only one); part of the cache key
    requested_model: str | None
    policy_digest: str
    nonce: bytes
    key_config: KeyConfig
    key_configs: tuple[KeyConfig, ...]
    ohttp_keys: bytes
    receipt_spki: bytes
    instance_digest: bytes
    measurement: bytes
    models: tuple[ModelInfo, ...]
    result: AppraisalResult
    ear: Mapping[str, Any] = field(repr=False)
    cpu_claims: VerifiedSnpClaims | VerifiedTdxClaims = field(repr=False)
    simulated: bool
    attested_at: datetime
    expires_at: datetime
    gpu_results: tuple[AppraisalResult, ...] = ()
    #: the verified proof that this attestation is in the evidence log; ``None``: the log was not
    #: checked (no log key pinned)
    log: LogInclusion | None = None

    @property
    def tee(self) -> str:
        """``"snp"`` or ``"tdx"``: the kind of TEE that was attested."""
        return "tdx" if isinstance(self.cpu_claims, VerifiedTdxClaims) else "snp"

    @property
    def claims(self) -> VerifiedSnpClaims:
        """The verified SEV-SNP claims; for a TDX session ``FormatError("bundle.unsupported")``
        (read :attr:`cpu_claims` or :attr:`tdx_claims`)."""
        if not isinstance(self.cpu_claims, VerifiedSnpClaims):
            raise FormatError("bundle.unsupported", "a TDX session has no SEV-SNP claims: read cpu_claims")
        return self.cpu_claims

    @property
    def tdx_claims(self) -> VerifiedTdxClaims | None:
        return self.cpu_claims if isinstance(self.cpu_claims, VerifiedTdxClaims) else None

    def expired(self, at: datetime) -> bool:
        """Whether the session must not be used at ``at`` (aware); the expiry instant is excluded."""
        return require_aware(at) >= self.expires_at

    def model(self, model_id: str) -> ModelInfo | None:
        """The announced model with this id, or ``None``."""
        for info in self.models:
            if info.id == model_id:
                return info
        return None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view for people and the CLI: no secrets in a session, only public values."""
        return {
            "url": self.url,
            "tee": self.tee,
            "model": self.model_id,
            "status": self.result.status.value,
            "simulated": self.simulated,
            "policy": self.result.policy_ref,
            "measurement": self.measurement.hex(),
            "instance_digest": self.instance_digest.hex(),
            "receipt_key_alg": receipt_algorithm(self.receipt_spki),
            "receipt_key_spki": self.receipt_spki.hex(),
            "key_configs": [
                {
                    "key_id": c.key_id,
                    "kem_id": f"0x{c.kem_id:04x}",
                    "symmetric": [f"0x{p.kdf_id:04x}/0x{p.aead_id:04x}" for p in c.symmetric],
                    "selected": c == self.key_config,
                }
                for c in self.key_configs
            ],
            "models": [{"id": m.id, "digest": m.digest.hex()} for m in self.models],
            "gpus": [_gpu_summary(r) for r in self.gpu_results],
            "log": self.log.summary() if self.log is not None else {"checked": False},
            "attested_at": self.attested_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


class SessionCache:
    """Thread-safe map (URL, requested model, policy digest) → session, dropping expired entries on read.

    Share one cache between transports (sync and async) to attest each worker once per TTL.
    """

    __slots__ = ("_entries", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], AttestedSession] = {}

    def get(
        self, url: str, policy_digest: str, at: datetime, model: str | None = None
    ) -> AttestedSession | None:
        """The cached session, or ``None`` when there is none or it has expired at ``at``."""
        key = (url.rstrip("/"), model or "", policy_digest)
        with self._lock:
            session = self._entries.get(key)
            if session is not None and session.expired(at):
                del self._entries[key]
                return None
            return session

    @staticmethod
    def _key(session: AttestedSession) -> tuple[str, str, str]:
        return (session.url, session.requested_model or "", session.policy_digest)

    def put(self, session: AttestedSession) -> None:
        with self._lock:
            self._entries[self._key(session)] = session

    def drop(self, session: AttestedSession) -> None:
        """Forget ``session`` (only if it is still the cached one: a newer one is kept)."""
        key = self._key(session)
        with self._lock:
            if self._entries.get(key) is session:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_GPU_FIELDS = (
    "arch",
    "hwmodel",
    "driver_version",
    "vbios_version",
    "measurements_compared",
    "mismatched_indices",
)


def _gpu_summary(result: AppraisalResult) -> dict[str, Any]:
    """One GPU's appraisal for people: device, status, what was compared, opt-ins."""
    return {
        "attester": result.attester,
        "status": result.status.value,
        "simulated": result.simulated,
        "policy": result.policy_ref,
        "opt_ins": list(result.opt_ins),
        **{key: result.evidence.get(key) for key in _GPU_FIELDS},
    }
