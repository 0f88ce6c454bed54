"""Bookkeeping for one appraisal: failures, warnings, and the AR4SI claim each rule feeds.

Each rule either passes (its claim is affirmed with 2 unless something else lowered it), fails
(a contraindicated-tier value, 96 by default) or warns (a warning-tier value, 32 by default). A claim
no rule touched stays 0, "no claim": a rule the policy does not set affirms nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from attestgw.appraisal.result import AppraisalResult, Failure, Status, TrustVector, tier_of

__all__ = ["CONTRAINDICATED", "CRYPTO_FAILED", "UNRECOGNIZED", "WARNING", "Ledger"]

#: AR4SI values used by the SNP rules (draft-ietf-rats-ar4si §2.3).
CONTRAINDICATED = 96  # recognized, but contraindicated by policy
UNRECOGNIZED = 97  # hardware or instance not recognized, though it should be
CRYPTO_FAILED = 99  # a cryptographic check of the evidence failed (here: the REPORT_DATA binding)
WARNING = 32  # known weakness, accepted only as a warning

_CLAIMS = frozenset(
    {
        "instance_identity",
        "configuration",
        "executables",
        "file_system",
        "hardware",
        "runtime_opaque",
        "storage_opaque",
        "sourced_data",
    }
)
_AFFIRMED = 2


class _PolicyRef(Protocol):
    """What every appraisal policy (SEV-SNP, TDX, GPU) names in its result."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def opt_ins(self) -> tuple[str, ...]: ...


class Ledger:
    __slots__ = ("_values", "failures", "not_evaluated", "warnings")

    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.warnings: list[Failure] = []
        self.not_evaluated: list[str] = []
        self._values: dict[str, list[int]] = {}

    def _note(self, claims: dict[str, int]) -> None:
        for claim, value in claims.items():
            if claim not in _CLAIMS:
                raise ValueError(f"unknown trustworthiness claim {claim}")
            self._values.setdefault(claim, []).append(value)

    def passed(self, *claims: str) -> None:
        self._note(dict.fromkeys(claims, _AFFIRMED))

    def fail(self, rule: str, code: str, got: str, want: str, **claims: int) -> None:
        if any(tier_of(v) is not Status.CONTRAINDICATED for v in claims.values()) or not claims:
            raise ValueError(f"{code}: a failure must map to contraindicated-tier claims")
        self.failures.append(Failure(rule, code, got, want))
        self._note(claims)

    def warn(self, rule: str, code: str, got: str, want: str, **claims: int) -> None:
        if any(tier_of(v) is not Status.WARNING for v in claims.values()) or not claims:
            raise ValueError(f"{code}: a warning must map to warning-tier claims")
        self.warnings.append(Failure(rule, code, got, want))
        self._note(claims)

    def skip(self, rule: str) -> None:
        self.not_evaluated.append(rule)

    def vector(self) -> TrustVector:
        """Per claim, the worst value noted (ties broken by the larger value); 0 if none."""
        picked = {
            claim: max(values, key=lambda v: (tier_of(v).rank, v)) for claim, values in self._values.items()
        }
        return TrustVector(**picked)

    def status(self) -> Status:
        status = self.vector().status
        if self.failures:
            return Status.CONTRAINDICATED
        if self.warnings:
            return Status.worst((status, Status.WARNING))
        return status

    def result(
        self, attester: str, policy: _PolicyRef, *, simulated: bool, evidence: Mapping[str, object]
    ) -> AppraisalResult:
        """The appraisal result of everything noted, under ``policy`` (its id, version, digest, opt-ins)."""
        return AppraisalResult(
            attester=attester,
            status=self.status(),
            vector=self.vector(),
            failures=tuple(self.failures),
            warnings=tuple(self.warnings),
            opt_ins=policy.opt_ins,
            not_evaluated=tuple(self.not_evaluated),
            policy_id=policy.id,
            policy_version=policy.version,
            policy_digest=policy.digest,
            simulated=simulated,
            evidence=evidence,
        )
