"""Appraise verified SEV-SNP claims against an :class:`~attestgw.appraisal.policy.SnpPolicy`.

:func:`appraise_snp` evaluates **every** rule (never stopping at the first failure) and returns an
:class:`~attestgw.appraisal.result.AppraisalResult`. It only accepts
:class:`~attestgw.verify.snp.VerifiedSnpClaims`, which only ``attestgw.verify`` can build, so the
signature, chain, chip-id and TCB cross-checks of formats.md §2.6 steps 1-7 have already held; this
module is step 8. It is pure: no clock, no I/O.

Rule → AR4SI claim (a failure sets the contraindicated value shown, a pass affirms with 2):

* hardware: trust root (97 when simulated and not trusted), product, every TCB minimum, committed ==
  current, firmware version, report version, mitigation vector, BadRAM alias check, CRL (96);
* configuration: debug, migration agent, VMPL, guest ABI, HOST_DATA, SMT, single socket, ciphertext
  hiding, RAPL, page swap, TSME (96);
* executables: MEASUREMENT, ID/author key digests, FAMILY_ID, IMAGE_ID, GUEST_SVN (96);
* instance-identity: signing key kind (96), CHIP_ID (97), REPORT_DATA (99: the binding to the
  relying party's nonce and keys did not verify);
* runtime-opaque: 2 (SNP memory encryption) unless debug is allowed: 96, or 32 with ``allow_debug``.

Warning tier (status ``warning``, never ``affirming``): REPORTED_TCB at or above ``minimum_tcb`` but
below ``recommended_tcb`` (hardware 32), and a debug-enabled guest under ``allow_debug = true``
(configuration and runtime-opaque 32). Everything else fails closed.

Not checked here: anything that needs collateral or cryptography (done by ``verify``), and whether
REPORT_DATA was computed with the right binding formula — the caller passes the expected 64 bytes.
"""

from __future__ import annotations

import hmac

from attestgw.appraisal._ledger import CONTRAINDICATED, CRYPTO_FAILED, UNRECOGNIZED, Ledger
from attestgw.appraisal._snp_guest import guest_rules
from attestgw.appraisal._snp_hardware import hardware_rules
from attestgw.appraisal.policy import SnpPolicy
from attestgw.appraisal.result import AppraisalResult
from attestgw.errors import UsageError
from attestgw.evidence.snp import SigningKey
from attestgw.verify.snp import VerifiedSnpClaims

__all__ = ["appraise_snp"]


def _member(value: bytes, allowed: tuple[bytes, ...]) -> bool:
    """Membership without early exit (the values are public, but timing should not hint either)."""
    found = False
    for candidate in allowed:
        found |= hmac.compare_digest(value, candidate)
    return found


def _one_of(allowed: tuple[bytes, ...]) -> str:
    return "one of [" + ", ".join(v.hex() for v in allowed) + "]"


def appraise_snp(
    claims: VerifiedSnpClaims,
    policy: SnpPolicy,
    *,
    expected_report_data: bytes | None = None,
) -> AppraisalResult:
    """Apply ``policy`` to ``claims``; report every failed rule.

    ``expected_report_data`` (exactly 64 bytes) overrides the policy's ``expected_report_data``;
    when neither is given REPORT_DATA is not checked and ``expected_report_data`` is listed in
    ``not_evaluated``. A wrong length raises ``UsageError("usage.invalid")``: REPORT_DATA is never
    padded or truncated silently.
    """
    if not isinstance(claims, VerifiedSnpClaims):
        raise TypeError("appraise_snp needs VerifiedSnpClaims from attestgw.verify")
    if expected_report_data is not None and len(expected_report_data) != 64:
        raise UsageError(
            "usage.invalid", f"expected REPORT_DATA is {len(expected_report_data)} bytes, want exactly 64"
        )
    led = Ledger()
    hardware_rules(led, claims, policy)
    _identity(led, claims, policy, expected_report_data)
    _executables(led, claims, policy)
    guest_rules(led, claims, policy)
    report = claims.report
    return led.result(
        "snp",
        policy,
        simulated=claims.simulated,
        evidence={
            "product": claims.product.value,
            "signing_key": claims.signing_key.name.lower(),
            "report_version": report.version,
            "vmpl": report.vmpl,
            "measurement": report.measurement.hex(),
            "reported_tcb": claims.reported_tcb.as_dict(),
            "crl_checked": claims.crl_checked,
            "verified_at": claims.verified_at.isoformat(),
        },
    )


def _identity(
    led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy, expected_report_data: bytes | None
) -> None:
    report = claims.report
    if claims.signing_key in policy.allowed_signing_keys:
        led.passed("instance_identity")
    else:
        want = ", ".join(k.name.lower() for k in policy.allowed_signing_keys)
        led.fail(
            "allowed_signing_keys",
            "policy.signing_key_not_allowed",
            claims.signing_key.name.lower(),
            f"one of [{want}]",
            instance_identity=CONTRAINDICATED,
        )
    unchecked_chip = claims.signing_key is SigningKey.VCEK and not claims.chip_id_checked
    if unchecked_chip and not policy.allow_masked_chip_id:
        # a masked CHIP_ID means the verifier could not tie the VCEK to the chip (formats.md §2.7)
        led.fail(
            "allow_masked_chip_id",
            "policy.chip_id_masked",
            "CHIP_ID masked (all zero): the VCEK hwID could not be compared",
            "an unmasked CHIP_ID, or allow_masked_chip_id = true",
            instance_identity=UNRECOGNIZED,
        )
    if policy.chip_ids is None:
        led.skip("chip_ids")
    elif _member(report.chip_id, policy.chip_ids):
        led.passed("instance_identity")
    else:
        # a masked (all-zero) CHIP_ID, or a VLEK-signed report, never matches a pinned chip
        led.fail(
            "chip_ids",
            "policy.chip_id_not_allowed",
            report.chip_id.hex(),
            _one_of(policy.chip_ids),
            instance_identity=UNRECOGNIZED,
        )
    expected = expected_report_data if expected_report_data is not None else policy.expected_report_data
    if expected is None:
        led.skip("expected_report_data")
    elif hmac.compare_digest(report.report_data, expected):
        led.passed("instance_identity")
    else:
        led.fail(
            "expected_report_data",
            "policy.report_data_mismatch",
            report.report_data.hex(),
            expected.hex(),
            instance_identity=CRYPTO_FAILED,
        )


def _executables(led: Ledger, claims: VerifiedSnpClaims, policy: SnpPolicy) -> None:
    report = claims.report
    if policy.allow_any_measurement:
        led.skip("measurements")  # the opt-in itself is listed in opt_ins
    elif _member(report.measurement, policy.measurements):
        led.passed("executables")
    else:
        want = _one_of(policy.measurements)
        if not any(any(m) for m in policy.measurements):
            want = "a real launch measurement (the policy lists only the all-zero placeholder: fill it in)"
        led.fail(
            "measurements",
            "policy.measurement_mismatch",
            report.measurement.hex(),
            want,
            executables=CONTRAINDICATED,
        )
    # (rule, code, value, allowed, claim): FAMILY_ID/IMAGE_ID mean something only with a trusted ID key
    pinned = [
        ("host_data", "policy.host_data_mismatch", report.host_data, policy.host_data, "configuration"),
        (
            "id_key_digests",
            "policy.id_key_mismatch",
            report.id_key_digest,
            policy.id_key_digests,
            "executables",
        ),
        (
            "author_key_digests",
            "policy.author_key_mismatch",
            report.author_key_digest,
            policy.author_key_digests,
            "executables",
        ),
        ("family_ids", "policy.family_id_mismatch", report.family_id, policy.family_ids, "executables"),
        ("image_ids", "policy.image_id_mismatch", report.image_id, policy.image_ids, "executables"),
    ]
    for rule, code, value, allowed, claim in pinned:
        if allowed is None:
            led.skip(rule)
        elif _member(value, allowed):
            led.passed(claim)
        else:
            led.fail(rule, code, value.hex(), _one_of(allowed), **{claim: CONTRAINDICATED})
    if policy.minimum_guest_svn is None:
        led.skip("minimum_guest_svn")
    elif report.guest_svn >= policy.minimum_guest_svn:
        led.passed("executables")
    else:
        led.fail(
            "minimum_guest_svn",
            "policy.guest_svn_below_minimum",
            str(report.guest_svn),
            f">= {policy.minimum_guest_svn}",
            executables=CONTRAINDICATED,
        )
