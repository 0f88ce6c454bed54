"""What an audit found: :class:`Finding` (one problem at one entry) and :class:`AuditReport`.

``AuditReport.as_dict()`` is the ``attestgw audit verify --json`` shape (docs/evidence-log.md §4):
``ok``, ``origin``, ``entries``, ``checkpoints``, ``from``, ``entries_checked``,
``attestations_reverified``, ``first_bad_index`` (``null`` when ok, or when no finding names an
entry), ``findings`` (``[{"index", "code", "message"}]`` in index order) and ``counts`` (records per
type). Messages name indices, codes and digests, never record contents beyond them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["AuditReport", "Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: the entry index it concerns (``None`` for the log as a whole), a code, a message."""

    index: int | None
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of :func:`attestgw.audit.audit_log`. ``ok`` iff there is no finding."""

    origin: str
    entries: int
    checkpoints: int
    start: int
    entries_checked: int
    attestations_reverified: int
    findings: tuple[Finding, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_index(self) -> int | None:
        indices = [f.index for f in self.findings if f.index is not None]
        return min(indices) if indices else None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "from": self.start,
            "entries_checked": self.entries_checked,
            "attestations_reverified": self.attestations_reverified,
            "first_bad_index": self.first_bad_index,
            "findings": [f.as_dict() for f in self.findings],
            "counts": dict(sorted(self.counts.items())),
        }
