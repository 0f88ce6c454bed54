"""Compare a report's measurement blocks with the golden values of verified RIMs (formats.md §4.6).

Rules: the active entries of the supplied RIMs (driver and VBIOS for a GPU, the BIOS RIM for an
NVSwitch) are merged — an index active in two RIMs is ``nvidia.rim_conflict`` (a verification
error: the reference itself is contradictory). RIM index ``i`` (0-based) is SPDM block ``i + 1``.
A golden entry matches when its size equals the block's value size and **any** alternative equals
the block's value (constant-time). RIM index 35 is skipped when the evidence says NVDEC0 is
disabled (NVIDIA firmware does not measure it then). A golden entry without a runtime block is a
mismatch. Runtime blocks that no RIM mentions are not compared (they are listed).

The result lists **exactly** which indices differ, with the runtime value and the alternatives, so
a user can tell a firmware update from tampering. Deciding whether a mismatch is acceptable is the
appraisal's job (tolerated indices); this module only reports.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from attestgw.errors import VerificationError
from attestgw.evidence.nvidia import MeasurementBlock, RimContent, RimMeasurement

__all__ = ["MeasurementComparison", "MeasurementMismatch", "compare_measurements"]

NVDEC0_INDEX = 35


@dataclass(frozen=True, slots=True)
class MeasurementMismatch:
    """RIM ``index`` (0-based): the runtime value (None when the block is absent) and the alternatives."""

    index: int
    source: str
    runtime: bytes | None
    golden: tuple[bytes, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "spdm_block": self.index + 1,
            "rim": self.source,
            "runtime": None if self.runtime is None else self.runtime.hex(),
            "golden": [g.hex() for g in self.golden],
        }


@dataclass(frozen=True, slots=True)
class MeasurementComparison:
    """Which RIMs were compared, how many golden entries, and every index that differed."""

    sources: tuple[str, ...]
    compared: int
    mismatches: tuple[MeasurementMismatch, ...]
    skipped: tuple[int, ...]
    uncovered_blocks: tuple[int, ...]

    @property
    def matched(self) -> bool:
        return bool(self.sources) and not self.mismatches

    @property
    def mismatched_indices(self) -> tuple[int, ...]:
        return tuple(m.index for m in self.mismatches)


def _equal(a: bytes, b: bytes) -> bool:
    return len(a) == len(b) and hmac.compare_digest(a, b)


def compare_measurements(
    blocks: Sequence[MeasurementBlock], rims: Sequence[tuple[str, RimContent]], *, nvdec0_enabled: bool | None
) -> MeasurementComparison:
    """Compare ``blocks`` with the active entries of ``rims`` (``(label, content)`` pairs)."""
    golden: dict[int, tuple[str, RimMeasurement]] = {}
    for label, content in rims:
        for entry in content.active:
            if entry.index in golden:
                raise VerificationError(
                    "nvidia.rim_conflict",
                    f"measurement index {entry.index} is active in both the "
                    f"{golden[entry.index][0]} and {label} RIMs",
                )
            golden[entry.index] = (label, entry)
    runtime = {blk.index - 1: blk for blk in blocks}
    mismatches, skipped = [], []
    compared = 0
    for index in sorted(golden):
        label, entry = golden[index]
        if index == NVDEC0_INDEX and nvdec0_enabled is False:
            skipped.append(index)
            continue
        compared += 1
        blk = runtime.get(index)
        value = None if blk is None else blk.value
        ok = (
            value is not None
            and len(value) == entry.size
            and any(_equal(value, alt) for alt in entry.alternatives)
        )
        if not ok:
            mismatches.append(MeasurementMismatch(index, label, value, entry.alternatives))
    uncovered = tuple(sorted(i for i in runtime if i not in golden))
    return MeasurementComparison(
        sources=tuple(label for label, _ in rims),
        compared=compared,
        mismatches=tuple(mismatches),
        skipped=tuple(skipped),
        uncovered_blocks=uncovered,
    )
