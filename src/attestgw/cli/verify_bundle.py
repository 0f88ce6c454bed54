"""``attestgw verify bundle``: decide offline on a saved attestation bundle (CPU and GPU evidence).

Same exit codes and JSON shape as the other verifiers (``attestgw verify snp --help``); scripts
depend on them, so they only grow. The decision is :func:`attestgw.attestation.appraise_bundle` with
the bundle's own nonce, so nothing here shows that the bundle is fresh, and the output says so.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import click

from attestgw.attestation import (
    AppraisedBundle,
    AttestationRefused,
    BundlePolicy,
    appraise_bundle,
    parse_bundle,
    parse_bundle_policy,
)
from attestgw.cli.options import parse_at, read_input
from attestgw.cli.output import emit, render_summary
from attestgw.errors import AttestgwError, FormatError, VerificationError
from attestgw.verify.snp import VerifiedSnpClaims
from attestgw.verify.snp.export import claims_to_json
from attestgw.verify.tdx import VerifiedTdxClaims
from attestgw.verify.tdx.export import claims_to_json as tdx_claims_to_json

__all__ = [
    "FRESHNESS_NOTE",
    "cpu_claims_out",
    "gpu_lines",
    "gpus_out",
    "load_bundle_policy_option",
    "verify_bundle_command",
]

#: The packaged default (trusts only AMD's roots; no [nvidia] section, so GPU evidence is refused).
DEFAULT_POLICY = Path("policies") / "attestation" / "default-snp.toml"
FRESHNESS_NOTE = (
    "freshness not checked: the nonce was taken from the bundle itself, so this bundle may be a replay; "
    "GPU evidence age is measured from --at"
)

_HELP = """Verify a saved attestation bundle (the body of GET /attestation) offline: the SEV-SNP report
and its collateral, every GPU's evidence (against the GPU nonce the binding derives), and the
linkage (REPORT_DATA binds the nonce, the key configs, the receipt key and the GPU evidence).

\b
--policy takes the attestation policy: [policy] and [snp], plus [nvidia] when the bundle carries GPU
evidence (docs/nvidia-verification.md §7). Without --policy the packaged default is used, which
trusts only AMD's roots and has no GPU section. The nonce is the bundle's own: FRESHNESS IS NOT
CHECKED, and the output says so.

\b
Exit codes: 0 affirming; 1 verification or appraisal refused; 2 usage error, invalid policy or
unreadable input; 3 collateral unavailable.

\b
--json prints one object: status, tee, simulated, appraisal, claims, gpus (one appraisal per GPU),
failures [{rule, code, got, want}], opt_ins, note, and error {code, message} when verification did
not complete.
"""


def load_bundle_policy_option(path: Path | None) -> tuple[BundlePolicy, str, bool]:
    """``(policy, source, is_default)`` for a ``--policy`` value (``None``: the packaged default)."""
    if path is None:
        data = (resources.files("attestgw") / "data" / "default-snp.toml").read_bytes()
        return parse_bundle_policy(data, source=str(DEFAULT_POLICY)), str(DEFAULT_POLICY), True
    return parse_bundle_policy(read_input(path, "policy"), source=str(path)), str(path), False


def cpu_claims_out(out: dict[str, Any], claims: VerifiedSnpClaims | VerifiedTdxClaims) -> None:
    """``tee`` and ``claims`` for verified SEV-SNP or TDX claims (each in its ``verify`` command's shape)."""
    if isinstance(claims, VerifiedTdxClaims):
        out.update(tee="tdx", claims=tdx_claims_to_json(claims))
    else:
        out.update(tee="snp", claims=claims_to_json(claims))


def gpus_out(results: Any) -> list[dict[str, Any]]:
    """One entry per GPU appraisal result (the JSON shape ``attestgw attest`` also prints)."""
    return [r.as_dict() for r in results]


def gpu_lines(out: dict[str, Any]) -> list[str]:
    """Readable lines for the ``gpus`` entries of ``out`` (one per device)."""
    lines = []
    for gpu in out.get("gpus") or []:
        ev = gpu.get("evidence") or {}
        mismatched = ev.get("mismatched_indices") or []
        lines.append(
            f"  {gpu['attester']:<15} {gpu['status']} {ev.get('arch')} driver {ev.get('driver_version')} "
            f"vbios {ev.get('vbios_version')}"
            + (" SIMULATED" if gpu.get("simulated") else "")
            + (f" mismatched indices {mismatched}" if mismatched else "")
        )
    return lines


def _finish(out: dict[str, Any], as_json: bool, exit_code: int) -> NoReturn:
    if as_json:
        emit(out, as_json, exit_code)
    lines = [render_summary(out), *gpu_lines(out)]
    if out.get("error") and not out.get("failures"):
        lines.append(f"  error: [{out['error']['code']}] {out['error']['message']}")
    lines.append(click.style("  note           ", fg="yellow") + out["note"])
    click.echo("\n".join(lines))
    sys.exit(exit_code)


def _affirmed(out: dict[str, Any], appraised: AppraisedBundle) -> None:
    out.update(
        status=appraised.result.status.value,
        simulated=appraised.simulated,
        appraisal=appraised.result.policy_ref,
        gpus=gpus_out(appraised.gpu_results),
        failures=[],
        opt_ins=sorted({o for r in appraised.results for o in r.opt_ins}),
        instance_digest=appraised.instance_digest.hex(),
    )
    cpu_claims_out(out, appraised.cpu_claims)


def _refused(out: dict[str, Any], err: AttestgwError) -> None:
    out["error"] = {"code": err.code, "message": err.message}
    if isinstance(err, AttestationRefused):
        out["status"] = err.status.value
        out["appraisal"] = err.result.policy_ref
        out["simulated"] = err.result.simulated or any(r.simulated for r in err.gpu_results)
        out["failures"] = [f.as_dict() for f in err.failures]
        out["gpus"] = gpus_out(err.gpu_results)
        out["opt_ins"] = sorted({o for r in (err.result, *err.gpu_results) for o in r.opt_ins})
        if err.result.attester in ("snp", "tdx"):
            out["tee"] = err.result.attester
        if err.cpu_claims is not None:
            cpu_claims_out(out, err.cpu_claims)
        return
    out["failures"] = [{"rule": "verify", "code": err.code, "got": err.message, "want": ""}]
    if isinstance(err, FormatError | VerificationError):
        out["status"] = "contraindicated"


@click.command(name="bundle", help=_HELP)
@click.argument("bundle_path", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="Attestation policy (TOML).")
@click.option("--at", "at_text", help="Verification time, ISO-8601 (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_bundle_command(
    bundle_path: Path, policy_path: Path | None, at_text: str | None, as_json: bool
) -> None:
    out: dict[str, Any] = {
        "status": "none",
        "tee": "snp",
        "simulated": False,
        "appraisal": None,
        "note": FRESHNESS_NOTE,
        "freshness_checked": False,
    }
    try:
        policy, source, _ = load_bundle_policy_option(policy_path)
        out["policy"] = source
        at = parse_at(at_text)
        data = read_input(bundle_path, "bundle")
        nonce = parse_bundle(data).nonce
        appraised = appraise_bundle(data, nonce, policy, at=at)
    except AttestgwError as err:
        _refused(out, err)
        _finish(out, as_json, err.exit_code)
    _affirmed(out, appraised)
    _finish(out, as_json, 0)
