"""What an appraisal returns: every failed rule, the AR4SI trustworthiness vector and a status tier.

The vocabulary is the IETF RATS one (draft-ietf-rats-ar4si, draft-ietf-rats-ear; formats.md §14):
a trustworthiness claim is a signed 8-bit value whose *tier* is read from its range
(none -1..1, affirming 2..31 / -2..-32, warning 32..95 / -33..-96, contraindicated 96..127 /
-97..-128). The status of a result is never better than its worst claim.

Not decided here: which rule feeds which claim (that is :mod:`attestgw.appraisal.snp`) and how a
result is signed (:mod:`attestgw.appraisal.ear`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from attestgw.errors import CODES, AppraisalError

__all__ = ["VECTOR_KEYS", "AppraisalResult", "Failure", "Status", "TrustVector", "tier_of"]


class Status(enum.Enum):
    """An AR4SI trust tier, ordered from best (``NONE`` makes no claim) to worst."""

    NONE = "none"
    AFFIRMING = "affirming"
    WARNING = "warning"
    CONTRAINDICATED = "contraindicated"

    @property
    def rank(self) -> int:
        """The tier's numeric value (0, 2, 32, 96): a higher rank is a worse status."""
        return _RANKS[self]

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """The worst of ``statuses`` (``NONE`` for an empty iterable)."""
        return max(statuses, key=lambda s: s.rank, default=cls.NONE)


_RANKS = {Status.NONE: 0, Status.AFFIRMING: 2, Status.WARNING: 32, Status.CONTRAINDICATED: 96}


def tier_of(value: int) -> Status:
    """The tier of one trustworthiness-claim value (AR4SI §2.3.1). Refuses values outside int8."""
    if isinstance(value, bool) or not isinstance(value, int) or not -128 <= value <= 127:
        raise ValueError(f"trustworthiness claim {value!r} is not an int8")
    if -1 <= value <= 1:
        return Status.NONE
    if 2 <= value <= 31 or -32 <= value <= -2:
        return Status.AFFIRMING
    if 32 <= value <= 95 or -96 <= value <= -33:
        return Status.WARNING
    return Status.CONTRAINDICATED


#: JSON claim names of the AR4SI vector, in the order of their CBOR keys 0..7.
VECTOR_KEYS = (
    "instance-identity",
    "configuration",
    "executables",
    "file-system",
    "hardware",
    "runtime-opaque",
    "storage-opaque",
    "sourced-data",
)


@dataclass(frozen=True, slots=True)
class TrustVector:
    """The AR4SI trustworthiness vector. 0 means "no claim" and is left out of the EAR form."""

    instance_identity: int = 0
    configuration: int = 0
    executables: int = 0
    file_system: int = 0
    hardware: int = 0
    runtime_opaque: int = 0
    storage_opaque: int = 0
    sourced_data: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            tier_of(getattr(self, f.name))  # range check

    def as_ear(self) -> dict[str, int]:
        """``{"hardware": 2, ...}`` with the AR4SI names, claims of 0 omitted."""
        out = {}
        for name in VECTOR_KEYS:
            value = getattr(self, name.replace("-", "_"))
            if value:
                out[name] = value
        return out

    @classmethod
    def from_ear(cls, claims: Mapping[str, object]) -> TrustVector:
        """Parse the EAR form. Unknown names or non-int8 values raise :class:`ValueError`."""
        unknown = set(claims) - set(VECTOR_KEYS)
        if unknown:
            raise ValueError(f"unknown trustworthiness claims {sorted(unknown)}")
        values: dict[str, int] = {}
        for name, value in claims.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"trustworthiness claim {name} is {value!r}, want an int8")
            values[name.replace("-", "_")] = value
        return cls(**values)

    @property
    def status(self) -> Status:
        """The worst tier among the claims (``NONE`` when no claim is made)."""
        return Status.worst(tier_of(getattr(self, f.name)) for f in fields(self))


@dataclass(frozen=True, slots=True)
class Failure:
    """One rule that did not hold: "got X, want Y", bytes in lowercase hex, TCBs as component dicts."""

    rule: str
    code: str
    got: str
    want: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered error code {self.code!r}")

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "code": self.code, "got": self.got, "want": self.want}


@dataclass(frozen=True, slots=True)
class AppraisalResult:
    """The outcome of appraising one attester's verified claims against one policy.

    ``failures`` lists every rule that failed closed (status contraindicated); ``warnings`` every
    rule in the documented warning tier. ``opt_ins`` names the policy settings that weakened the
    strict defaults; ``not_evaluated`` the optional rules the policy did not set (they affirmed
    nothing). ``simulated`` is true when the evidence chains to a simulated root, whether or not
    the policy trusted it. ``evidence`` is a small summary for people and the EAR extension.
    """

    attester: str
    status: Status
    vector: TrustVector
    failures: tuple[Failure, ...]
    warnings: tuple[Failure, ...]
    opt_ins: tuple[str, ...]
    not_evaluated: tuple[str, ...]
    policy_id: str
    policy_version: str
    policy_digest: str
    simulated: bool
    evidence: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the status may be worse than the vector, never better (AR4SI / EAR consistency rule)
        if self.status.rank < self.vector.status.rank:
            raise ValueError(f"status {self.status.value} is better than the vector's worst claim")
        if self.failures and self.status is not Status.CONTRAINDICATED:
            raise ValueError("a result with failures must be contraindicated")

    @property
    def affirming(self) -> bool:
        return self.status is Status.AFFIRMING

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of every failure, then every warning, in rule order."""
        return tuple(f.code for f in (*self.failures, *self.warnings))

    @property
    def policy_ref(self) -> str:
        """The policy id used in ``ear_appraisal_policy_ids``: id, version and content digest."""
        return f"attestgw:policy:{self.policy_id}:{self.policy_version}:sha256:{self.policy_digest}"

    def raise_unless_affirming(self) -> None:
        """For callers that want a yes/no: raise :class:`AppraisalError` unless affirming.

        The error carries the first failure's (else warning's) code and lists all of them.
        """
        if self.affirming:
            return
        problems = (*self.failures, *self.warnings)
        code = problems[0].code if problems else "policy.no_affirmation"
        detail = "; ".join(f"{p.rule}: got {p.got}, want {p.want}" for p in problems)
        raise AppraisalError(
            code, f"{self.attester} appraisal is {self.status.value}: {detail or 'no claim'}"
        )

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (the CLI's ``--json`` and the EAR extension use it)."""
        return {
            "attester": self.attester,
            "status": self.status.value,
            "trustworthiness_vector": self.vector.as_ear(),
            "failures": [f.as_dict() for f in self.failures],
            "warnings": [w.as_dict() for w in self.warnings],
            "opt_ins": list(self.opt_ins),
            "not_evaluated": list(self.not_evaluated),
            "policy": {"id": self.policy_id, "version": self.policy_version, "sha256": self.policy_digest},
            "simulated": self.simulated,
            "evidence": dict(self.evidence),
        }
