"""Re-verify one stored attestation offline, at its recorded time, with its stored bytes.

For an ``attestation.appraised`` entry, :func:`reverify_attestation`:

1. requires the evidence stored beside the leaf (``log.evidence_missing``) and that the SHA-256 of
   the stored bundle, nonce and policy bytes equal the entry's digests (``log.evidence_mismatch``);
2. parses the stored policy with the SEV-SNP policy loader;
3. runs :func:`attestgw.attestation.appraise_bundle` on the stored bundle and nonce with that policy
   ``at`` the entry's ``verified_at``, with no fetcher: only the collateral stored in the bundle is
   used, and nothing is fetched;
4. requires the same outcome as recorded (``log.attestation_mismatch``): the same status, the same
   codes in the same order and, for an affirmed entry, the same measurement, instance digest and
   EAR policy reference.

Not checked here: references from other entries to this one (:mod:`attestgw.audit.verify`), or
whether the policy was the right one to apply (the entry records which one was).
"""

from __future__ import annotations

import hmac

from attestgw.appraisal import parse_policy
from attestgw.attestation import AttestationRefused, appraise_bundle
from attestgw.audit.findings import Finding
from attestgw.errors import AttestgwError
from attestgw.log.records import Evidence, Record, parse_time

__all__ = ["reverify_attestation"]


def _outcome(record: Record, evidence: Evidence) -> tuple[str, list[str], dict[str, str]]:
    """(status, codes, affirmed facts) from re-running the decision on the stored bytes."""
    policy = parse_policy(evidence.policy, source="stored policy")
    at = parse_time(record.fields["verified_at"])
    try:
        appraised = appraise_bundle(evidence.bundle, evidence.nonce, policy, at=at)
    except AttestationRefused as refused:
        return refused.result.status.value, list(refused.codes), {}
    result = appraised.result
    facts = {
        "measurement": appraised.measurement.hex(),
        "instance_digest": appraised.instance_digest.hex(),
        "policy_ref": result.policy_ref,
    }
    return result.status.value, list(result.codes), facts


def _recorded_policy_ref(record: Record) -> str | None:
    ear = record.fields.get("ear")
    try:
        refs = ear["submods"][record.fields["tee"]]["ear_appraisal_policy_ids"]  # type: ignore[index]
    except (TypeError, KeyError):
        return None
    return refs[0] if isinstance(refs, list) and refs and isinstance(refs[0], str) else None


def reverify_attestation(index: int, record: Record, evidence: Evidence | None) -> list[Finding]:
    """Steps 1-4 of the module docstring; an empty list when the entry re-verifies as recorded."""
    # 1. the stored bytes are the ones the entry committed to
    if evidence is None:
        return [
            Finding(index, "log.evidence_missing", "no bundle, nonce and policy are stored beside the entry")
        ]
    for name, digest in evidence.digests.items():
        if not hmac.compare_digest(str(record.fields.get(name, "")), digest):
            return [
                Finding(
                    index,
                    "log.evidence_mismatch",
                    f"stored bytes hash to {digest}, the entry's {name} differs",
                )
            ]
    # 2-3. the same decision, offline, at the recorded time
    try:
        status, codes, facts = _outcome(record, evidence)
    except AttestgwError as err:
        status, codes, facts = "contraindicated", [err.code], {}
    except ValueError as err:  # e.g. a nonce of the wrong size: the decision cannot be re-run
        status, codes, facts = "contraindicated", ["usage.invalid"], {}
        del err
    # 4. the same outcome as recorded
    want_status, want_codes = record.fields["status"], list(record.fields["codes"])
    if status != want_status or codes != want_codes:
        return [
            Finding(
                index,
                "log.attestation_mismatch",
                f"re-verified at {record.fields['verified_at']}: {status} {codes}, "
                f"recorded {want_status} {want_codes}",
            )
        ]
    problems = []
    for name in ("measurement", "instance_digest"):
        recorded = record.fields.get(name)
        if facts and recorded is not None and recorded != facts[name]:
            problems.append(f"{name} is {facts[name]}, recorded {recorded}")
    recorded_ref = _recorded_policy_ref(record)
    if facts and recorded_ref is not None and recorded_ref != facts["policy_ref"]:
        problems.append(f"EAR policy id is {facts['policy_ref']}, recorded {recorded_ref}")
    return [Finding(index, "log.attestation_mismatch", p) for p in problems]
