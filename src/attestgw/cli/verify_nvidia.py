"""``attestgw verify nvidia``: verify (and optionally appraise) NVIDIA GPU / NVSwitch evidence offline.

Same exit codes and JSON shape as ``attestgw verify snp`` (see its help and ``docs/cli.md``); scripts
depend on them, so they only grow. With several devices ``claims`` holds one entry per device under
``devices`` and each failure's rule is prefixed with its device (``nvidia-gpu1: …``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from attestgw.appraisal import AppraisalResult, Status, build_ear, sign_ear
from attestgw.appraisal._nvidia_policy import GpuPolicy, parse_gpu_policy
from attestgw.appraisal.nvidia import appraise_gpus
from attestgw.attestation import gpu_trust
from attestgw.cli.options import parse_at, read_input
from attestgw.cli.output import emit, render_summary
from attestgw.collateral.nvidia import (
    DEFAULT_NVIDIA_CACHE,
    DEFAULT_OCSP_URL,
    DEFAULT_RIM_URL,
    NvidiaCollateralFetcher,
)
from attestgw.crypto.keys import load_ec_private_key_pem
from attestgw.errors import AttestgwError, FormatError, UsageError, VerificationError
from attestgw.evidence.nvidia import GpuEvidence, parse_gpu_evidence
from attestgw.verify.nvidia import (
    GpuCollateral,
    GpuVerifyOptions,
    OcspSettings,
    VerifiedGpuClaims,
    verify_gpus,
)

__all__ = ["device_to_json", "evidence_to_json", "verify_nvidia_command"]

NOT_COMPARED = "measurements reported, not compared: no RIMs were given (--rims or --online)"

_HELP = """Verify NVIDIA GPU / NVSwitch attestation evidence (SPDM 1.1 GET_MEASUREMENTS), offline by default.

\b
Without --policy only verification runs (device chain to the pinned NVIDIA Device Identity CA, OCSP
for the chain, SPDM signature, nonce, FWID; with RIMs also their XML signatures, chains and OCSP and
the measurement comparison) and the output says that no appraisal was made. With --policy (the
[nvidia] table of docs/nvidia-verification.md) the claims of every device are also appraised.

\b
Inputs: --evidence the SPDM request ‖ response as raw bytes or hex text, or NVIDIA's serialized
evidence JSON (one or several devices); --certs the device chain PEM when the evidence has none;
--rims a directory of RIM XML files (without it, and without --online, measurements are reported
but not compared); --ocsp a directory of DER OCSP responses. --online fetches missing RIMs and OCSP
responses from NVIDIA into the cache (`attestgw trust fetch nvidia` prefetches them); --cache-dir
without --online uses what is cached. OCSP is required unless the policy or --allow-unchecked-ocsp
says otherwise (recorded as an opt-in).

\b
Exit codes: 0 verified (and affirming when a policy was given); 1 verification or appraisal failed;
2 usage error, invalid policy or unreadable input; 3 collateral unavailable (e.g. no OCSP response).

\b
--json prints one object: status (affirming | warning | contraindicated | verified | none), tee,
simulated, appraisal, claims {devices: [...]}, failures [{rule, code, got, want}], opt_ins,
results (one appraisal per device), and error {code, message} when verification did not complete.
"""


def evidence_to_json(item: GpuEvidence, index: int) -> dict[str, Any]:
    """What the (unverified) evidence says, for output before or without verification."""
    report = item.report
    opaque = report.response.opaque
    return {
        "index": index,
        "nonce": report.nonce.hex(),
        "driver_version": opaque.driver_version,
        "vbios_version": opaque.vbios_version,
        "measurements": {str(b.index): b.value.hex() for b in report.response.blocks},
        "unverified_arch": item.unverified_arch,
        "unverified_cc_mode": item.unverified_cc_mode,
    }


def device_to_json(claims: VerifiedGpuClaims) -> dict[str, Any]:
    """Verified claims of one device, byte strings as lowercase hex."""
    comparison = claims.comparison
    return {
        **evidence_to_json_claims(claims),
        "measurements_compared": comparison is not None,
        "mismatched_indices": list(comparison.mismatched_indices) if comparison else [],
        "mismatches": [m.as_dict() for m in comparison.mismatches] if comparison else [],
        "rims": [
            {
                "role": r.role.value,
                "version": r.version,
                "expected_version": r.expected_version,
                "version_matches": r.version_matches,
                "tag_id": r.tag_id,
                "valid_until": r.valid_until.isoformat(),
                "ocsp_checked": list(r.ocsp.checked),
            }
            for r in claims.rims
        ],
        "ocsp_checked": claims.ocsp_checked,
        "ocsp_unchecked": [
            *claims.device_ocsp.unchecked,
            *(n for r in claims.rims for n in r.ocsp.unchecked),
        ],
        "ocsp_opt_ins": list(claims.ocsp_opt_ins),
        "valid_until": claims.valid_until.isoformat(),
    }


def evidence_to_json_claims(claims: VerifiedGpuClaims) -> dict[str, Any]:
    return {
        "index": claims.device_index,
        "arch": claims.arch.value,
        "hwmodel": claims.hwmodel,
        "driver_version": claims.driver_version,
        "vbios_version": claims.vbios_version,
        "nonce": claims.nonce.hex(),
        "nonce_checked": claims.nonce_checked,
        "fwid": None if claims.fwid is None else claims.fwid.hex(),
        "fwid_checked": claims.fwid_checked,
        "leaf_sha256": claims.leaf_sha256,
        "root_sha256": claims.root_sha256,
        "unverified_cc_mode": claims.unverified_cc_mode,
        "simulated": claims.simulated,
        "measurements": {str(b.index): b.value.hex() for b in claims.report.response.blocks},
    }


def _files(directory: Path | None, what: str) -> tuple[bytes, ...]:
    if directory is None:
        return ()
    if not directory.is_dir():
        raise UsageError("input.unreadable", f"{what} {directory} is not a directory")
    return tuple(read_input(p, what) for p in sorted(directory.iterdir()) if p.is_file())


def _nonce(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise UsageError("usage.invalid", "--nonce must be hex") from None
    if len(value) != 32:
        raise UsageError("usage.invalid", f"--nonce is {len(value)} bytes, want 32")
    return value


def _appraise(out: dict[str, Any], results: Sequence[AppraisalResult]) -> int:
    status = Status.worst(r.status for r in results)
    out["status"] = status.value
    out["appraisal"] = results[0].policy_ref
    out["results"] = [r.as_dict() for r in results]
    out["failures"] = [
        {**f.as_dict(), "rule": f"{r.attester}: {f.rule}"}
        for r in results
        for f in (*r.failures, *r.warnings)
    ]
    out["opt_ins"] = sorted({o for r in results for o in r.opt_ins})
    out["not_evaluated"] = sorted({n for r in results for n in r.not_evaluated})
    return 0 if status is Status.AFFIRMING else 1


def _finish(out: dict[str, Any], as_json: bool, exit_code: int) -> NoReturn:
    if as_json:
        emit(out, as_json, exit_code)
    lines = [render_summary(out)]
    for device in (out.get("claims") or {}).get("devices", []):
        mismatched = device.get("mismatched_indices") or []
        lines.append(
            f"  device {device['index']:<8} {device.get('arch', device.get('unverified_arch') or '?')} "
            f"driver {device.get('driver_version')} vbios {device.get('vbios_version')}"
            + (f" mismatched indices {mismatched}" if mismatched else "")
        )
    if out.get("note"):
        lines.append(click.style("  note           ", fg="yellow") + out["note"])
    click.echo("\n".join(lines))
    sys.exit(exit_code)


def _issued(text: str | None) -> datetime | None:
    return None if text is None else parse_at(text)


@click.command(name="nvidia", help=_HELP)
@click.option("--evidence", "evidence_path", type=click.Path(path_type=Path), required=True)
@click.option("--certs", "certs_path", type=click.Path(path_type=Path), help="Device chain PEM, leaf first.")
@click.option("--rims", "rims_dir", type=click.Path(path_type=Path), help="Directory of RIM XML files.")
@click.option("--ocsp", "ocsp_dir", type=click.Path(path_type=Path), help="Directory of DER OCSP responses.")
@click.option(
    "--nonce", "nonce_hex", help="The verifier's nonce (32 bytes, hex) the SPDM request must carry."
)
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="NVIDIA policy (TOML).")
@click.option("--at", "at_text", help="Verification time, ISO-8601 (default: now).")
@click.option(
    "--nonce-issued-at", "issued_text", help="When the nonce was issued, ISO-8601 (for max_evidence_age)."
)
@click.option("--online", is_flag=True, help="Fetch missing RIMs and OCSP responses from NVIDIA.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help=f"Cache (default {DEFAULT_NVIDIA_CACHE}).")
@click.option("--rim-url", default=DEFAULT_RIM_URL, hidden=True)
@click.option("--ocsp-url", default=DEFAULT_OCSP_URL, hidden=True)
@click.option("--allow-unchecked-ocsp", is_flag=True, help="Opt-in: do not require OCSP (recorded).")
@click.option(
    "--trust-simulated-root",
    "simulated_roots",
    multiple=True,
    metavar="SHA256",
    help="Also trust this simulated NVIDIA root (development only; results are marked simulated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--ear-out", type=click.Path(path_type=Path), help="Write the signed EAR (JWT) here.")
@click.option("--ear-key", type=click.Path(path_type=Path), help="EC P-256/P-384 private key (PEM).")
def verify_nvidia_command(
    evidence_path: Path,
    certs_path: Path | None,
    rims_dir: Path | None,
    ocsp_dir: Path | None,
    nonce_hex: str | None,
    policy_path: Path | None,
    at_text: str | None,
    issued_text: str | None,
    online: bool,
    cache_dir: Path | None,
    rim_url: str,
    ocsp_url: str,
    allow_unchecked_ocsp: bool,
    simulated_roots: tuple[str, ...],
    as_json: bool,
    ear_out: Path | None,
    ear_key: Path | None,
) -> None:
    out: dict[str, Any] = {"status": "none", "tee": "nvidia", "simulated": False, "appraisal": None}
    try:
        if (ear_out is None) != (ear_key is None):
            raise UsageError("usage.invalid", "--ear-out and --ear-key go together")
        at = parse_at(at_text)
        issued = _issued(issued_text)
        nonce = _nonce(nonce_hex)
        policy: GpuPolicy | None = None
        if policy_path is not None:
            policy = parse_gpu_policy(read_input(policy_path, "policy"), source=str(policy_path))
        evidence = parse_gpu_evidence(read_input(evidence_path, "evidence"))
        out["claims"] = {"devices": [evidence_to_json(e, i) for i, e in enumerate(evidence)]}
        collateral = GpuCollateral(
            certificate_chain=read_input(certs_path, "certificate chain") if certs_path else None,
            rims=_files(rims_dir, "RIM"),
            ocsp_responses=_files(ocsp_dir, "OCSP response"),
        )
        if online or cache_dir is not None:
            cache = cache_dir or DEFAULT_NVIDIA_CACHE
            with NvidiaCollateralFetcher(
                cache, rim_url=rim_url, ocsp_url=ocsp_url, allow_network=online
            ) as fetcher:
                collateral = fetcher.collateral_for(evidence, collateral)
        ocsp = policy.ocsp if policy is not None else OcspSettings()
        if allow_unchecked_ocsp:
            ocsp = OcspSettings(
                required=False, grace=ocsp.grace, allow_certificate_hold=ocsp.allow_certificate_hold
            )
        roots = (*simulated_roots, *(policy.trust_simulated_roots if policy is not None else ()))
        options = GpuVerifyOptions(at=at, expected_nonce=nonce, trust=gpu_trust(roots), ocsp=ocsp)
        claims = verify_gpus(evidence, collateral, options)
    except AttestgwError as err:
        out["failures"] = [{"rule": "verify", "code": err.code, "got": err.message, "want": ""}]
        out["error"] = {"code": err.code, "message": err.message}
        if isinstance(err, FormatError | VerificationError):
            out["status"] = "contraindicated"
        _finish(out, as_json, err.exit_code)
    out["claims"] = {"devices": [device_to_json(c) for c in claims]}
    if all(c.comparison is None for c in claims):
        out["note"] = NOT_COMPARED
    out["simulated"] = any(c.simulated for c in claims)
    out["failures"] = []
    out["opt_ins"] = list(options.ocsp.opt_ins)
    if policy is None:
        out["status"] = "verified"
        _finish(out, as_json, 0)
    try:
        results = appraise_gpus(claims, policy, nonce_issued_at=issued)
        code = _appraise(out, results)
        if ear_out is not None and ear_key is not None:
            key = load_ec_private_key_pem(read_input(ear_key, "EAR key"))
            try:
                ear_out.write_text(sign_ear(build_ear(results, issued_at=at), key) + "\n", encoding="ascii")
            except OSError as exc:
                raise UsageError("usage.invalid", f"cannot write {ear_out}: {exc.strerror}") from None
            out["ear"] = str(ear_out)
    except AttestgwError as err:
        out["status"] = "none"
        out["error"] = {"code": err.code, "message": err.message}
        out["failures"] = [{"rule": "appraise", "code": err.code, "got": err.message, "want": ""}]
        _finish(out, as_json, err.exit_code)
    _finish(out, as_json, code)
