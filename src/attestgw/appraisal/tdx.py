"""Appraise verified Intel TDX claims against a :class:`~attestgw.appraisal.policy_tdx.TdxPolicy`.

:func:`appraise_tdx` evaluates **every** rule (never stopping at the first failure) and returns an
:class:`~attestgw.appraisal.result.AppraisalResult` with attester ``"tdx"``. It only accepts
:class:`~attestgw.verify.tdx.claims.VerifiedTdxClaims`, which only ``attestgw.verify`` can build, so
formats.md §3.8 steps 1-10 (PCK chain, CRLs, collateral, QE report, quote signature, TCB status)
have already held; this module is step 11. It is pure: no clock, no I/O.

Rule → AR4SI claim (a failure sets the contraindicated value shown, a pass affirms with 2):

* hardware: trust root (97 when simulated and not trusted), TCB status (2 UpToDate; 32 for an
  allowed SWHardeningNeeded / ConfigurationNeeded / ConfigurationAndSWHardeningNeeded with every
  advisory listed; 96 otherwise, so always for OutOfDate), TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM (96);
* executables: MRTD, RTMR0-3 allow-lists, RTMR replay of the event log, reference event digests (96);
* configuration: DEBUG, SEPT_VE_DISABLE, TDATTRIBUTES mask, XFAM, MRCONFIGID, MROWNER,
  MROWNERCONFIG (96);
* instance-identity: REPORTDATA (99: the binding to the relying party's nonce and keys failed);
* runtime-opaque: 2 (TDX memory encryption) unless the TD is in debug mode: 96, or 32 with
  ``allow_debug``.

Not checked here: anything that needs collateral or cryptography (``verify``), and whether
REPORTDATA was computed with the right binding formula — the caller passes the expected 64 bytes.
"""

from __future__ import annotations

import hmac

from attestgw.appraisal._ledger import CONTRAINDICATED, CRYPTO_FAILED, Ledger
from attestgw.appraisal._tdx_eventlog import event_log_rules
from attestgw.appraisal._tdx_match import member, one_of
from attestgw.appraisal._tdx_platform import configuration_rules, hardware_rules
from attestgw.appraisal.policy_tdx import TdxPolicy
from attestgw.appraisal.result import AppraisalResult
from attestgw.errors import UsageError
from attestgw.verify.tdx.claims import VerifiedTdxClaims

__all__ = ["appraise_tdx"]


def appraise_tdx(
    claims: VerifiedTdxClaims,
    policy: TdxPolicy,
    *,
    expected_report_data: bytes | None = None,
    event_log: bytes | None = None,
) -> AppraisalResult:
    """Apply ``policy`` to ``claims``; report every failed rule.

    ``expected_report_data`` (exactly 64 bytes) overrides the policy's ``expected_report_data``;
    when neither is given REPORTDATA is not checked and ``expected_report_data`` is listed in
    ``not_evaluated``. A wrong length raises ``UsageError("usage.invalid")``: REPORTDATA is never
    padded or truncated silently. ``event_log`` is the TD's CC event log (raw, hex or base64):
    when given it is replayed against the quote's RTMRs; it is required when the policy has
    ``[[tdx.event_log.reference]]`` entries.
    """
    if not isinstance(claims, VerifiedTdxClaims):
        raise TypeError("appraise_tdx needs VerifiedTdxClaims from attestgw.verify")
    if not isinstance(policy, TdxPolicy):
        raise TypeError("appraise_tdx needs a TdxPolicy (load_tdx_policy / parse_tdx_policy)")
    if expected_report_data is not None and len(expected_report_data) != 64:
        raise UsageError(
            "usage.invalid", f"expected REPORTDATA is {len(expected_report_data)} bytes, want exactly 64"
        )
    led = Ledger()
    hardware_rules(led, claims, policy)
    _identity(led, claims, policy, expected_report_data)
    _executables(led, claims, policy)
    log_summary = event_log_rules(led, claims.body, policy, event_log)
    configuration_rules(led, claims, policy)
    body = claims.body
    return led.result(
        "tdx",
        policy,
        simulated=claims.simulated,
        evidence={
            "quote_version": claims.quote.version,
            "mrtd": body.mr_td.hex(),
            "rtmrs": [r.hex() for r in body.rtmrs],
            "td_attributes": f"{body.td_attributes:016x}",
            "xfam": f"{body.xfam:016x}",
            "tee_tcb_svn": body.tee_tcb_svn.hex(),
            "tcb_status": claims.tcb_status.value,
            "advisory_ids": list(claims.advisory_ids),
            "fmspc": claims.fmspc,
            "verified_at": claims.verified_at.isoformat(),
            **log_summary,
        },
    )


def _identity(
    led: Ledger, claims: VerifiedTdxClaims, policy: TdxPolicy, expected_report_data: bytes | None
) -> None:
    report_data = claims.body.report_data
    expected = expected_report_data if expected_report_data is not None else policy.expected_report_data
    if expected is None:
        led.skip("expected_report_data")
    elif hmac.compare_digest(report_data, expected):
        led.passed("instance_identity")
    else:
        led.fail(
            "expected_report_data",
            "policy.report_data_mismatch",
            report_data.hex(),
            expected.hex(),
            instance_identity=CRYPTO_FAILED,
        )


def _executables(led: Ledger, claims: VerifiedTdxClaims, policy: TdxPolicy) -> None:
    body = claims.body
    if policy.allow_any_mrtd:
        led.skip("mrtds")  # the opt-in itself is listed in opt_ins
    elif member(body.mr_td, policy.mrtds):
        led.passed("executables")
    else:
        want = one_of(policy.mrtds)
        if not any(any(m) for m in policy.mrtds):
            want = "a real MRTD (the policy lists only the all-zero placeholder: fill it in)"
        led.fail("mrtds", "policy.mrtd_mismatch", body.mr_td.hex(), want, executables=CONTRAINDICATED)
    for index, allowed in enumerate(policy.rtmrs):
        rule = f"rtmr{index}"
        if allowed is None:
            led.skip(rule)
        elif member(body.rtmrs[index], allowed):
            led.passed("executables")
        else:
            led.fail(
                rule,
                "policy.rtmr_mismatch",
                f"RTMR{index} {body.rtmrs[index].hex()}",
                one_of(allowed),
                executables=CONTRAINDICATED,
            )
