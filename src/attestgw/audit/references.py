"""Cross-entry checks: every entry that relies on an attestation names an earlier, fitting one.

The auditor remembers, for each ``attestation.appraised`` entry, its worker, status, validity window
and whether it re-verified. Then:

- ``inference.relayed`` must name an earlier attestation entry of the same worker that was affirming,
  re-verified (when re-verification ran), and whose window ``[verified_at, expires_at]`` contains the
  relay's time — else ``log.relay_unattested`` (``log.reference_invalid`` when the index names no
  earlier attestation at all);
- ``worker.admitted`` must name an earlier affirming attestation of the same worker whose window
  contains the admission time — else ``log.reference_invalid``;
- any other record's ``attestation_index`` must name an earlier attestation entry.

Not checked: that a relay went to a worker still admitted (evictions are informational), or
anything about entries the audit did not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from attestgw.audit.findings import Finding
from attestgw.log.records import Record, parse_time

__all__ = ["AttestationFacts", "check_references"]


@dataclass(slots=True)
class AttestationFacts:
    """What later entries may rely on: worker, status, window, and whether it re-verified."""

    worker: str
    affirming: bool
    verified_at: datetime
    expires_at: datetime
    reverified_ok: bool = True

    @classmethod
    def of(cls, record: Record) -> AttestationFacts:
        return cls(
            worker=record.fields["worker"],
            affirming=record.fields["status"] == "affirming",
            verified_at=parse_time(record.fields["verified_at"]),
            expires_at=parse_time(record.fields["expires_at"]),
        )


def check_references(index: int, record: Record, attestations: dict[int, AttestationFacts]) -> list[Finding]:
    """The checks of the module docstring for one entry (empty when it names no attestation)."""
    target = record.fields.get("attestation_index")
    if target is None:
        return []
    facts = attestations.get(target) if target < index else None
    if facts is None:
        return [
            Finding(
                index, "log.reference_invalid", f"attestation_index {target} names no earlier attestation"
            )
        ]
    if record.type not in ("inference.relayed", "worker.admitted"):
        return []
    code = "log.relay_unattested" if record.type == "inference.relayed" else "log.reference_invalid"
    problems = []
    if facts.worker != record.fields["worker"]:
        problems.append(f"entry {target} attests worker {facts.worker!r}, not {record.fields['worker']!r}")
    if not facts.affirming:
        problems.append(f"entry {target} was not affirming")
    elif not facts.reverified_ok:
        problems.append(f"entry {target}'s evidence does not re-verify")
    if not facts.verified_at <= record.time <= facts.expires_at:
        problems.append(
            f"at {record.time.isoformat()} entry {target} was not valid "
            f"({facts.verified_at.isoformat()} – {facts.expires_at.isoformat()})"
        )
    return [Finding(index, code, p) for p in problems]
