"""Intel TDX appraisal policy: a TOML file → a validated, frozen :class:`TdxPolicy`.

A TDX policy file has the same ``[policy]`` table as an SEV-SNP policy (``id``, ``version``,
optional ``description``) and a ``[tdx]`` table of rules; ``docs/policy.md`` §8 lists every key, its
default and the code it produces. Validation happens here, at load, with the same strict reader as
the SNP policy (:mod:`attestgw.appraisal._policy_reader`): unknown keys, bad hex, wrong lengths,
empty allow-lists and contradictory settings raise ``ConfigError("config.policy_invalid")`` naming
the key.

Deny by default:

* MRTD must be addressed explicitly — a non-empty ``mrtds`` list, or ``allow_any_mrtd = true``
  (recorded as an opt-in in every result);
* only TCB status ``UpToDate`` is accepted unless other statuses are listed; ``OutOfDate*`` and
  ``Revoked`` can never be listed (an out-of-date platform is contraindicated by design);
* a debug TD is refused; SEPT_VE_DISABLE (TDATTRIBUTES bit 28) is required unless turned off;
* evidence that chains to a simulated root is refused unless its fingerprint is listed;
* an optional rule the policy does not set is not evaluated and affirms nothing.

Byte-valued u64 fields (``xfam``, ``xfam_mask``, ``allowed_td_attributes_mask``) are written as 16
hex digits of the **number**, most significant first (``"00000000000602e7"``), not as the
little-endian bytes of the quote. The policy digest is SHA-256 of the file's exact bytes. Not
checked here: whether the reference values are the right ones for a deployment.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Any

from attestgw.appraisal._policy_reader import Table, parse_toml_document, read_policy_file
from attestgw.errors import ConfigError
from attestgw.evidence.tdx_collateral import TcbStatus

__all__ = ["EventReference", "TdxPolicy", "XfamRule", "load_tdx_policy", "parse_tdx_policy"]

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_ADVISORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_U64 = (1 << 64) - 1
TDATTR_DEBUG = 1 << 0
TDATTR_SEPT_VE_DISABLE = 1 << 28
#: Statuses a policy may list. OutOfDate* and Revoked are not among them (see the module docstring).
ALLOWABLE_STATUSES = (
    TcbStatus.UP_TO_DATE,
    TcbStatus.SW_HARDENING_NEEDED,
    TcbStatus.CONFIGURATION_NEEDED,
    TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED,
)
_STATUS_NAMES = {s.value.lower(): s for s in TcbStatus}
_MAX_REFERENCES = 4096


@dataclass(frozen=True, slots=True)
class XfamRule:
    """XFAM must satisfy ``xfam & mask == value`` (an exact match when ``mask`` is all ones)."""

    value: int
    mask: int = _U64

    def holds(self, xfam: int) -> bool:
        return xfam & self.mask == self.value


@dataclass(frozen=True, slots=True)
class EventReference:
    """One ``[[tdx.event_log.reference]]``: an event in RTMR ``rtmr`` (0..3) that must carry ``digest``.

    The event is selected by ``event_type`` and/or ``description`` (at least one): the description
    matches when the event data contains it as UTF-8 or UTF-16LE text. ``digest`` is the event's
    SHA-384 digest as logged (the value extended into the RTMR), not a hash of its data.
    """

    rtmr: int
    digest: bytes
    event_type: int | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        parts = [f"rtmr{self.rtmr}"]
        if self.event_type is not None:
            parts.append(f"type {self.event_type:#x}")
        if self.description is not None:
            parts.append(f"description {self.description!r}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TdxPolicy:
    """A validated TDX appraisal policy. Build it with :func:`load_tdx_policy` / :func:`parse_tdx_policy`.

    Byte-valued rules hold raw bytes; ``None`` means "not set" (not evaluated). Constructing one
    directly skips the loader's per-key validation; only the MRTD decision is rechecked.
    """

    id: str
    version: str
    digest: str
    description: str = ""
    source: str = "<policy>"
    mrtds: tuple[bytes, ...] = ()
    allow_any_mrtd: bool = False
    rtmrs: tuple[tuple[bytes, ...] | None, ...] = (None, None, None, None)
    mrconfigids: tuple[bytes, ...] | None = None
    mrowners: tuple[bytes, ...] | None = None
    mrownerconfigs: tuple[bytes, ...] | None = None
    mrseams: tuple[bytes, ...] | None = None
    mrsignerseams: tuple[bytes, ...] | None = None
    xfam: XfamRule | None = None
    allow_debug: bool = False
    require_sept_ve_disable: bool = True
    allowed_td_attributes_mask: int | None = None
    allowed_tcb_statuses: tuple[TcbStatus, ...] = (TcbStatus.UP_TO_DATE,)
    allowed_advisory_ids: tuple[str, ...] = ()
    minimum_tee_tcb_svn: bytes | None = None
    expected_report_data: bytes | None = None
    trust_simulated_roots: tuple[str, ...] = ()
    event_references: tuple[EventReference, ...] = ()
    replayed_rtmrs: tuple[int, ...] = (0, 1, 2, 3)

    def __post_init__(self) -> None:
        if bool(self.mrtds) == self.allow_any_mrtd:
            raise ConfigError(
                "config.policy_invalid",
                f"{self.source}: tdx.mrtds: list allowed MRTDs, or set allow_any_mrtd = true "
                "(exactly one of the two)",
            )
        if len(self.rtmrs) != 4:
            raise ConfigError("config.policy_invalid", f"{self.source}: tdx: want 4 RTMR allow-lists")

    @property
    def opt_ins(self) -> tuple[str, ...]:
        """Settings that weaken a strict default, by key name (recorded in every result)."""
        out = []
        if self.allow_any_mrtd:
            out.append("allow_any_mrtd")
        if self.allow_debug:
            out.append("allow_debug")
        if not self.require_sept_ve_disable:
            out.append("require_sept_ve_disable")
        if self.allowed_tcb_statuses != (TcbStatus.UP_TO_DATE,):
            out.append("allowed_tcb_statuses")
        if self.allowed_advisory_ids:
            out.append("allowed_advisory_ids")
        if self.trust_simulated_roots:
            out.append("trust_simulated_roots")
        return tuple(out)


def load_tdx_policy(path: str | os.PathLike[str]) -> TdxPolicy:
    """Read and validate a TDX policy file. Unreadable → ``UsageError("input.unreadable")``."""
    return parse_tdx_policy(read_policy_file(path), source=os.fspath(path))


def parse_tdx_policy(data: bytes, *, source: str = "<policy>") -> TdxPolicy:
    """Validate TDX policy bytes (UTF-8 TOML). ``source`` only labels error messages."""
    digest = hashlib.sha256(data).hexdigest()
    doc = parse_toml_document(data, source)
    root = Table(doc, "", source)
    meta = root.table("policy", required=True)
    root.table("tdx", required=True)  # checks that [tdx] is a non-empty table
    root.finish()
    assert meta is not None  # required=True never returns None
    # The reader has no list-of-strings or array-of-tables method; those two keys are taken out
    # of the table here and validated by hand, with the same error shape.
    raw_tdx = dict(doc["tdx"])
    advisories_raw = raw_tdx.pop("allowed_advisory_ids", None)
    event_log_raw = raw_tdx.pop("event_log", None)
    tdx = Table(raw_tdx, "tdx", source)

    policy_id = meta.label("id", _ID)
    version = meta.label("version", _ID)
    description = meta.string("description") or ""
    meta.finish()

    mrtds = tdx.hex_list(
        "mrtds", 48, empty_hint="set allow_any_mrtd = true instead to skip the check explicitly"
    )
    allow_any = tdx.boolean("allow_any_mrtd", False)
    if allow_any and mrtds is not None:
        raise tdx.error("allow_any_mrtd", "contradicts the mrtds list; keep one of the two")
    if not allow_any and mrtds is None:
        raise tdx.error("mrtds", "required: list the allowed MRTDs, or set allow_any_mrtd = true")
    statuses = tdx.choice_list("allowed_tcb_statuses", _STATUS_NAMES) or (TcbStatus.UP_TO_DATE,)
    for i, status in enumerate(statuses):
        if status not in ALLOWABLE_STATUSES:
            raise tdx.error(
                f"allowed_tcb_statuses[{i}]",
                f"{status.value} cannot be allowed: an out-of-date or revoked platform is "
                "contraindicated by design (allowable: "
                + ", ".join(s.value for s in ALLOWABLE_STATUSES)
                + ")",
            )
    advisories = _advisories(tdx, advisories_raw)
    if advisories and statuses == (TcbStatus.UP_TO_DATE,):
        raise tdx.error(
            "allowed_advisory_ids",
            "has no effect: advisories are only accepted with a non-UpToDate status listed in "
            "allowed_tcb_statuses",
        )
    require_sept = tdx.boolean("require_sept_ve_disable", True)
    attr_mask = _u64(tdx, "allowed_td_attributes_mask")
    if attr_mask is not None and require_sept and not attr_mask & TDATTR_SEPT_VE_DISABLE:
        raise tdx.error(
            "allowed_td_attributes_mask",
            "clears bit 28 (SEPT_VE_DISABLE) that require_sept_ve_disable = true requires",
        )
    references, replayed = _event_log(tdx, event_log_raw, source)
    roots = tdx.hex_list("trust_simulated_roots", 32, allow_empty=True)
    policy = TdxPolicy(
        id=policy_id,
        version=version,
        digest=digest,
        description=description,
        source=source,
        mrtds=mrtds or (),
        allow_any_mrtd=allow_any,
        rtmrs=tuple(tdx.hex_list(f"rtmr{i}", 48) for i in range(4)),
        mrconfigids=tdx.hex_list("mrconfigids", 48),
        mrowners=tdx.hex_list("mrowners", 48),
        mrownerconfigs=tdx.hex_list("mrownerconfigs", 48),
        mrseams=tdx.hex_list("mrseams", 48),
        mrsignerseams=tdx.hex_list("mrsignerseams", 48),
        xfam=_xfam(tdx),
        allow_debug=tdx.boolean("allow_debug", False),
        require_sept_ve_disable=require_sept,
        allowed_td_attributes_mask=attr_mask,
        allowed_tcb_statuses=statuses,
        allowed_advisory_ids=advisories,
        minimum_tee_tcb_svn=tdx.hex_value("minimum_tee_tcb_svn", 16),
        expected_report_data=tdx.hex_value("expected_report_data", 64),
        trust_simulated_roots=tuple(r.hex() for r in roots or ()),
        event_references=references,
        replayed_rtmrs=replayed,
    )
    tdx.finish()
    return policy


def _u64(table: Table, key: str) -> int | None:
    value = table.hex_value(key, 8)
    return None if value is None else int.from_bytes(value, "big")


def _xfam(tdx: Table) -> XfamRule | None:
    value, mask = _u64(tdx, "xfam"), _u64(tdx, "xfam_mask")
    if value is None:
        if mask is not None:
            raise tdx.error("xfam_mask", "needs xfam (the value the masked bits must have)")
        return None
    mask = _U64 if mask is None else mask
    if value & ~mask:
        raise tdx.error("xfam", f"sets bits outside xfam_mask ({value & ~mask:016x}); it could never match")
    return XfamRule(value, mask)


def _advisories(tdx: Table, raw: Any) -> tuple[str, ...]:
    key = "allowed_advisory_ids"
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise tdx.error(key, f"want a list, got {type(raw).__name__}")
    if not raw:
        raise tdx.error(key, "an empty list allows nothing; remove the key")
    out: list[str] = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not _ADVISORY.fullmatch(value):
            raise tdx.error(f"{key}[{i}]", f"{value!r} is not an advisory id such as 'INTEL-SA-00837'")
        if value.upper() not in out:
            out.append(value.upper())
    return tuple(out)


def _event_log(tdx: Table, raw: Any, source: str) -> tuple[tuple[EventReference, ...], tuple[int, ...]]:
    if raw is None:
        return (), (0, 1, 2, 3)
    if not isinstance(raw, dict) or not raw:
        raise tdx.error("event_log", "want a non-empty table")
    table = Table({k: v for k, v in raw.items() if k != "reference"}, "tdx.event_log", source)
    replayed = table.int_list("replayed_rtmrs", 0, 3) or (0, 1, 2, 3)
    table.finish()
    items = raw.get("reference")
    if items is None:
        return (), replayed
    if not isinstance(items, list) or not items or len(items) > _MAX_REFERENCES:
        raise tdx.error(
            "event_log.reference", f"want 1..{_MAX_REFERENCES} [[tdx.event_log.reference]] tables"
        )
    references = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise tdx.error(f"event_log.reference[{i}]", "want a table")
        entry = Table(item, f"tdx.event_log.reference[{i}]", source)
        rtmr = entry.integer("rtmr", 0, 3)
        event_type = entry.integer("event_type", 0, 0xFFFF_FFFF)
        description = entry.string("description")
        digest = entry.hex_value("digest", 48)
        entry.finish()
        if rtmr is None or digest is None:
            raise entry.error("rtmr" if rtmr is None else "digest", "required key is missing")
        if event_type is None and not description:
            raise entry.error("event_type", "select the event: set event_type and/or a non-empty description")
        if rtmr not in replayed:
            raise entry.error(
                "rtmr", f"RTMR{rtmr} is not in event_log.replayed_rtmrs, so its log is unchecked"
            )
        references.append(EventReference(rtmr, digest, event_type, description))
    return tuple(references), replayed
