"""Appraise verified NVIDIA GPU / NVSwitch claims against a :class:`GpuPolicy`; one result per device.

:func:`appraise_gpus` evaluates **every** rule for every device and returns one
:class:`~attestgw.appraisal.result.AppraisalResult` per device, attester ``nvidia-gpu<i>`` or
``nvidia-switch<i>`` — so the EAR has one submodule per device (``build_ear(results)``). It only
accepts :class:`~attestgw.verify.nvidia.VerifiedGpuClaims`, built by ``attestgw.verify`` after the
chain, signature, FWID, nonce (when given), RIM signatures and OCSP passed. Pure: no clock, no I/O.

Rule → AR4SI claim (failure value shown; a pass affirms with 2):

* hardware: trust root (97 simulated and not listed), architecture allowed (96), OCSP coverage (96);
* executables: driver / VBIOS minimum (96), RIMs present for every compared role (96), RIM versions
  equal to the evidence's (96), measurements equal to the RIMs (96; indices listed in ``got``;
  a mismatch only at ``tolerated_indices`` is a warning, 32);
* configuration: CC mode on and developer tools off as NVML reported them (96) — NVML's answer is
  **not signed**; the signed evidence of the mode is the measurement comparison, which the policy
  should also require;
* instance-identity: nonce checked by verification (96), evidence age within
  ``max_evidence_age`` of ``nonce_issued_at`` (96; unknown age fails);
* runtime-opaque: 2 when CC mode was reported on.

Not checked here: anything cryptographic, and the CPU/GPU linkage (the composite verifier's job).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attestgw.appraisal._ledger import CONTRAINDICATED, UNRECOGNIZED, WARNING, Ledger
from attestgw.appraisal._nvidia_policy import GpuPolicy, driver_version_tuple, vbios_version_tuple
from attestgw.appraisal.result import AppraisalResult
from attestgw.clock import require_aware
from attestgw.errors import UsageError
from attestgw.verify.nvidia import GpuArch, RimRole, VerifiedGpuClaims

__all__ = ["appraise_gpu", "appraise_gpus"]


def appraise_gpus(
    claims: Sequence[VerifiedGpuClaims], policy: GpuPolicy, *, nonce_issued_at: datetime | None = None
) -> tuple[AppraisalResult, ...]:
    """One result per device; a device-count rule (``expected_device_count``) fails every result."""
    if not claims:
        raise UsageError("usage.invalid", "no GPU claims to appraise")
    count_ok = policy.expected_device_count is None or policy.expected_device_count == len(claims)
    return tuple(
        appraise_gpu(
            c, policy, nonce_issued_at=nonce_issued_at, device_count=None if count_ok else len(claims)
        )
        for c in claims
    )


def appraise_gpu(
    claims: VerifiedGpuClaims,
    policy: GpuPolicy,
    *,
    nonce_issued_at: datetime | None = None,
    device_count: int | None = None,
) -> AppraisalResult:
    """Apply ``policy`` to one device. ``device_count`` set means the count rule failed with that count."""
    if not isinstance(claims, VerifiedGpuClaims):
        raise TypeError("appraise_gpu needs VerifiedGpuClaims from attestgw.verify")
    led = Ledger()
    _hardware(led, claims, policy)
    _executables(led, claims, policy)
    _configuration(led, claims, policy)
    _identity(led, claims, policy, nonce_issued_at)
    if device_count is not None:
        led.fail(
            "expected_device_count",
            "policy.gpu_count_mismatch",
            str(device_count),
            str(policy.expected_device_count),
            hardware=CONTRAINDICATED,
        )
    kind = "switch" if claims.arch is GpuArch.LS10 else "gpu"
    comparison = claims.comparison
    return led.result(
        f"nvidia-{kind}{claims.device_index}",
        policy,
        simulated=claims.simulated,
        evidence={
            "arch": claims.arch.value,
            "hwmodel": claims.hwmodel,
            "driver_version": claims.driver_version,
            "vbios_version": claims.vbios_version,
            "nonce": claims.nonce.hex(),
            "measurements_compared": comparison is not None,
            "mismatched_indices": list(comparison.mismatched_indices) if comparison else [],
            "ocsp_opt_ins": list(claims.ocsp_opt_ins),
            "verified_at": claims.verified_at.isoformat(),
        },
    )


def _hardware(led: Ledger, claims: VerifiedGpuClaims, policy: GpuPolicy) -> None:
    roots = {claims.root_sha256, *(r.root_sha256 for r in claims.rims)}
    untrusted = [r for r in sorted(roots) if claims.simulated and r not in policy.trust_simulated_roots]
    if claims.simulated and untrusted:
        led.fail(
            "trust_simulated_roots",
            "policy.simulated_root",
            ", ".join(untrusted),
            "the pinned NVIDIA roots, or simulated roots listed in trust_simulated_roots",
            hardware=UNRECOGNIZED,
        )
    if claims.arch in policy.allowed_architectures:
        led.passed("hardware")
    else:
        want = ", ".join(a.value for a in policy.allowed_architectures)
        led.fail(
            "allowed_architectures",
            "policy.gpu_arch_not_allowed",
            claims.arch.value,
            want,
            hardware=CONTRAINDICATED,
        )
    if claims.ocsp_checked:
        led.passed("hardware")
    else:
        unchecked = [*claims.device_ocsp.unchecked, *(n for r in claims.rims for n in r.ocsp.unchecked)]
        led.fail(
            "ocsp.required",
            "policy.gpu_ocsp_unchecked",
            f"not checked: {', '.join(unchecked)}",
            "an OCSP response for every device and RIM certificate",
            hardware=CONTRAINDICATED,
        )


def _minimum(led: Ledger, rule: str, code: str, got: str | None, want: str | None, parse: object) -> None:
    if want is None:
        led.skip(rule)
        return
    assert callable(parse)
    have = parse(got) if got is not None else None
    if have is not None and have >= parse(want):
        led.passed("executables")
    else:
        led.fail(rule, code, str(got), f"≥ {want}", executables=CONTRAINDICATED)


def _executables(led: Ledger, claims: VerifiedGpuClaims, policy: GpuPolicy) -> None:
    if claims.arch is not GpuArch.LS10:
        _minimum(
            led,
            "minimum_driver_version",
            "policy.gpu_driver_below_minimum",
            claims.driver_version,
            policy.minimum_driver_version,
            driver_version_tuple,
        )
    _minimum(
        led,
        "minimum_vbios_version",
        "policy.gpu_vbios_below_minimum",
        claims.vbios_version,
        policy.minimum_vbios_version,
        vbios_version_tuple,
    )
    if not policy.require_measurement_match:
        led.skip("require_measurement_match")
        return
    roles = (RimRole.VBIOS,) if claims.arch is GpuArch.LS10 else (RimRole.DRIVER, RimRole.VBIOS)
    missing = [role.value for role in roles if claims.rim(role) is None]
    if missing:
        led.fail(
            "require_measurement_match",
            "policy.gpu_rim_missing",
            f"no verified {' and '.join(missing)} RIM",
            "a verified RIM for the evidence's driver and VBIOS (--rims)",
            executables=CONTRAINDICATED,
        )
    for rim in claims.rims:
        if not rim.version_matches:
            led.fail(
                f"rim.{rim.role.value}.version",
                "policy.gpu_rim_version_mismatch",
                f"RIM for {rim.version}",
                f"the evidence's {rim.expected_version}",
                executables=CONTRAINDICATED,
            )
    comparison = claims.comparison
    if comparison is None:
        return
    bad = [m for m in comparison.mismatches if m.index not in policy.tolerated_indices]
    tolerated = [m for m in comparison.mismatches if m.index in policy.tolerated_indices]
    if bad:
        got = "indices " + ", ".join(f"{m.index} ({m.source})" for m in bad)
        led.fail(
            "require_measurement_match",
            "policy.gpu_measurement_mismatch",
            got,
            "every active RIM measurement matched",
            executables=CONTRAINDICATED,
        )
    elif tolerated:
        led.warn(
            "tolerated_indices",
            "policy.gpu_measurement_mismatch",
            "indices " + ", ".join(str(m.index) for m in tolerated),
            "no mismatch",
            executables=WARNING,
        )
    elif not missing:
        led.passed("executables")


def _configuration(led: Ledger, claims: VerifiedGpuClaims, policy: GpuPolicy) -> None:
    if not policy.require_cc_mode:
        led.skip("require_cc_mode")
        return
    mode = claims.unverified_cc_mode
    if mode is None and policy.allow_unreported_cc_mode:
        led.skip("require_cc_mode")
        return
    if mode == "on":
        led.passed("configuration", "runtime_opaque")
        return
    got = "not reported" if mode is None else f"NVML reports {mode!r}"
    if mode == "devtools":
        led.fail(
            "require_cc_mode",
            "policy.gpu_devtools_on",
            got,
            "CC mode on, developer tools off",
            configuration=CONTRAINDICATED,
        )
    else:
        led.fail(
            "require_cc_mode",
            "policy.gpu_cc_mode_off",
            got,
            "CC mode on (reported by NVML)",
            configuration=CONTRAINDICATED,
        )


def _identity(
    led: Ledger, claims: VerifiedGpuClaims, policy: GpuPolicy, nonce_issued_at: datetime | None
) -> None:
    if not policy.require_nonce:
        led.skip("require_nonce")
    elif claims.nonce_checked:
        led.passed("instance_identity")
    else:
        led.fail(
            "require_nonce",
            "policy.gpu_nonce_unchecked",
            f"nonce {claims.nonce.hex()} not checked",
            "the verifier's nonce (--nonce)",
            instance_identity=CONTRAINDICATED,
        )
    if policy.max_evidence_age is None:
        led.skip("max_evidence_age_seconds")
        return
    age = None if nonce_issued_at is None else claims.verified_at - require_aware(nonce_issued_at)
    limit = policy.max_evidence_age
    if age is not None and age.total_seconds() >= 0 and age <= limit:
        led.passed("instance_identity")
    else:
        got = "unknown (no nonce issue time)" if age is None else f"{int(age.total_seconds())} s"
        led.fail(
            "max_evidence_age_seconds",
            "policy.gpu_evidence_too_old",
            got,
            f"≤ {int(limit.total_seconds())} s",
            instance_identity=CONTRAINDICATED,
        )
