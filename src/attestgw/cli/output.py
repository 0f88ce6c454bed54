"""Rendering of CLI results: one JSON object with --json, a readable summary otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from attestgw.errors import AttestgwError

__all__ = ["emit", "fail", "render_summary"]

_STATUS_STYLE = {
    "affirming": ("AFFIRMING", "green"),
    "verified": ("VERIFIED", "green"),
    "warning": ("WARNING", "yellow"),
    "contraindicated": ("REFUSED", "red"),
    "none": ("NOT VERIFIED", "yellow"),
}

_CLAIM_ROWS = (
    ("product", "product"),
    ("signing key", "signing_key"),
    ("report version", "version"),
    ("vmpl", "vmpl"),
    ("measurement", "measurement"),
    ("mrtd", "mrtd"),
    ("tcb status", "tcb_status"),
    ("advisory ids", "advisory_ids"),
    ("fmspc", "fmspc"),
    ("report_data", "report_data"),
    ("host_data", "host_data"),
    ("chip_id", "chip_id"),
)


def emit(out: dict[str, Any], as_json: bool, exit_code: int) -> NoReturn:
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        click.echo(render_summary(out))
    sys.exit(exit_code)


def fail(out: dict[str, Any], err: AttestgwError, as_json: bool) -> NoReturn:
    emit(out, as_json, exit_code=err.exit_code)


def _tcb(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    parts = [f"{k}={v}" for k, v in value.items() if k != "raw"]
    return " ".join(parts) + (f"  ({value['raw']})" if "raw" in value else "")


_VENDOR = {"SNP": "AMD", "TDX": "Intel", "NVIDIA": "NVIDIA"}


def render_summary(out: dict[str, Any]) -> str:
    """A short human-readable account of a verification result."""
    label, colour = _STATUS_STYLE.get(out.get("status", "none"), ("UNKNOWN", "yellow"))
    tee = str(out.get("tee", "")).upper()
    lines = [click.style(f"{label}", fg=colour, bold=True) + f"  {tee} attestation evidence"]
    if out.get("simulated"):
        lines.append(
            click.style("SIMULATED", fg="magenta", bold=True)
            + f"  this evidence chains to a simulated root, not to {_VENDOR.get(tee, 'vendor')} hardware"
        )
    claims = out.get("claims") or {}
    for title, key in _CLAIM_ROWS:
        if key in claims and claims[key] is not None:
            value = claims[key]
            text = str(value)
            if len(text) > 64:
                text = text[:64] + "…"
            lines.append(f"  {title:<15} {text}")
    if "reported_tcb" in claims:
        lines.append(f"  {'reported tcb':<15} {_tcb(claims['reported_tcb'])}")
    if isinstance(claims.get("policy"), dict):
        pol = claims["policy"]
        lines.append(
            f"  {'guest policy':<15} {pol.get('raw')} debug={pol.get('debug_allowed')} "
            f"migrate_ma={pol.get('migrate_ma_allowed')} smt={pol.get('smt_allowed')}"
        )
    if "crl_checked" in claims:
        lines.append(f"  {'crl checked':<15} {claims['crl_checked']}")
    if out.get("status") == "verified":
        lines.append("  no appraisal was made (no --policy): the evidence is genuine, not judged")
    elif out.get("appraisal"):
        lines.append(f"  {'policy':<15} {out['appraisal']}")
    for opt in out.get("opt_ins") or []:
        lines.append(click.style("  opt-in         ", fg="yellow") + str(opt))
    failures = out.get("failures") or []
    if failures:
        lines.append(f"  {len(failures)} failure(s):")
        for f in failures:
            detail = ""
            if f.get("want"):
                detail = f": got {f.get('got')}, want {f.get('want')}"
            elif f.get("got"):
                detail = f": {f.get('got')}"
            lines.append(f"    - [{f.get('code')}] {f.get('rule')}{detail}")
    return "\n".join(lines)
