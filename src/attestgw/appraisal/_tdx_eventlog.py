"""TDX RTMR replay and per-event reference digests (AR4SI *executables*).

RTMRs are guest-extendable, so their raw values mean little on their own (formats.md §3.9): the CC
event log is replayed with the parser's :func:`~attestgw.evidence.tdx.replay_rtmrs` and the result
must equal the verified quote's RTMRs (for the RTMRs named by ``event_log.replayed_rtmrs``). Only
then are the log's digests authenticated, and each ``[[tdx.event_log.reference]]`` is looked up in
it. A tampered log (a changed digest, a dropped or reordered event) fails the replay.

When the caller passes an event log it is always parsed and replayed, even if the policy has no
references; when the policy has references and no log is given, that is a failure. A log that does
not parse or cannot be replayed is a failure (``policy.event_log_invalid``), never an exception:
appraisal reports every rule. Not checked: that an event's digest is the hash of its data (the
parser does not recompute digests; references pin the digests themselves).
"""

from __future__ import annotations

import hmac

from attestgw.appraisal._ledger import CONTRAINDICATED, Ledger
from attestgw.appraisal.policy_tdx import EventReference, TdxPolicy
from attestgw.errors import FormatError
from attestgw.evidence.tdx import (
    EV_NO_ACTION,
    TPM_ALG_SHA384,
    LogEvent,
    TdQuoteBody,
    parse_event_log,
    replay_rtmrs,
)

__all__ = ["event_log_rules"]


def event_log_rules(
    led: Ledger, body: TdQuoteBody, policy: TdxPolicy, event_log: bytes | None
) -> dict[str, object]:
    """Apply the replay and reference rules; return a small summary for the result's evidence."""
    if event_log is None:
        if policy.event_references:
            led.fail(
                "event_log",
                "policy.event_log_missing",
                "no event log was supplied",
                f"a CC event log to check {len(policy.event_references)} reference event(s)",
                executables=CONTRAINDICATED,
            )
        else:
            led.skip("event_log")
        return {"event_log": "not supplied"}
    try:
        log = parse_event_log(event_log)
        replayed = replay_rtmrs(log.events)
    except FormatError as exc:
        led.fail(
            "event_log",
            "policy.event_log_invalid",
            str(exc),
            "a well-formed CC event log with SHA-384 digests",
            executables=CONTRAINDICATED,
        )
        return {"event_log": "invalid"}
    _replay(led, body, policy, replayed)
    for reference in policy.event_references:
        _reference(led, log.events, reference)
    return {"event_log": "replayed", "event_log_events": len(log.events)}


def _replay(
    led: Ledger, body: TdQuoteBody, policy: TdxPolicy, replayed: tuple[bytes, bytes, bytes, bytes]
) -> None:
    bad = [i for i in policy.replayed_rtmrs if not hmac.compare_digest(replayed[i], body.rtmrs[i])]
    if not bad:
        led.passed("executables")
        return
    led.fail(
        "event_log.replay",
        "policy.rtmr_replay_mismatch",
        "; ".join(f"replayed RTMR{i} {replayed[i].hex()}" for i in bad),
        "; ".join(f"quote RTMR{i} {body.rtmrs[i].hex()}" for i in bad),
        executables=CONTRAINDICATED,
    )


def _matches(event: LogEvent, reference: EventReference) -> bool:
    if event.event_type == EV_NO_ACTION or event.index != reference.rtmr + 1:  # CC MR index = RTMR + 1
        return False
    if reference.event_type is not None and event.event_type != reference.event_type:
        return False
    if reference.description is not None:
        text = reference.description
        # EFI events name things in UTF-16LE (variable names), IPL/GRUB events in ASCII/UTF-8
        if text.encode("utf-8") not in event.data and text.encode("utf-16-le") not in event.data:
            return False
    return True


def _reference(led: Ledger, events: tuple[LogEvent, ...], reference: EventReference) -> None:
    candidates = [e for e in events if _matches(e, reference)]
    digests = [e.digest(TPM_ALG_SHA384) or b"" for e in candidates]
    found = False
    for digest in digests:
        found |= hmac.compare_digest(digest, reference.digest)
    if found:
        led.passed("executables")
        return
    if candidates:
        got = f"{reference.label}: digest(s) " + ", ".join(d.hex() for d in digests)
    else:
        got = f"{reference.label}: no such event in the log"
    led.fail(
        "event_log.reference",
        "policy.event_digest_mismatch",
        got,
        f"{reference.label}: digest {reference.digest.hex()}",
        executables=CONTRAINDICATED,
    )
