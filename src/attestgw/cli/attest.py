"""``attestgw attest``: attest a worker and show what the client would encrypt to.

Thin over :func:`attestgw.client.attest`. The contract (options, exit codes, JSON shape) is
documented in ``attestgw attest --help`` and ``docs/client.md``; scripts depend on it, so it only
grows. ``attestgw chat`` shares the policy loading and error rendering defined here.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

from attestgw.attestation import BundlePolicy, parse_bundle_policy
from attestgw.cli.output import emit, render_summary
from attestgw.cli.verify_bundle import cpu_claims_out, gpu_lines, gpus_out, load_bundle_policy_option
from attestgw.client import AttestationRefused, AttestedSession, LogMonitor, attest
from attestgw.clock import parse_instant
from attestgw.errors import (
    AttestgwError,
    CollateralUnavailableError,
    FormatError,
    UsageError,
    VerificationError,
)

__all__ = [
    "DEFAULT_POLICY",
    "attest_command",
    "finish",
    "load_policy_option",
    "policy_note",
    "refusal_out",
    "session_out",
    "unreachable",
]

#: Used when no ``--policy`` is given: strict production defaults that trust only AMD's roots. The
#: package ships it (``attestgw/data``); ``policies/attestation/default-snp.toml`` is the same file.
DEFAULT_POLICY = Path("policies") / "attestation" / "default-snp.toml"

_HELP = """Attest the worker at --url and print the verified claims and the key configs the client
would encrypt prompts to. Nothing is sent to the worker but the attestation request.

\b
Steps: a fresh 32-byte nonce → GET URL/attestation → verify the SEV-SNP report (or the Intel TDX
quote) and its collateral (the bundle's own; what it lacks is read from --cache-dir, or fetched from
AMD KDS / Intel PCS with --online: a TDX bundle without collateral needs one of them) → appraise
with the policy's [snp] (or [tdx]) section, where REPORT_DATA must bind the nonce, the worker's OHTTP
key configs and its receipt key → list the key configs decoded from those bytes.

\b
Without --policy the default policy (policies/attestation/default-snp.toml) is used: it trusts only
AMD's roots, so it REFUSES simulated evidence (and TDX evidence: it has no [tdx] section,
policy.tee_policy_missing). For a simulated worker pass the policy it wrote (attestgw worker serve
--state-dir DIR writes DIR/policy.toml).

\b
Exit codes: 0 affirming; 1 verification or appraisal refused; 2 usage error, invalid policy or
unreadable input; 3 worker or collateral unavailable.

\b
--json prints one object: status (affirming | warning | contraindicated | none), tee (snp | tdx),
simulated, appraisal, url, policy, claims (as verify snp / verify tdx print them), failures [{rule,
code, got, want}], opt_ins, key_configs, models, receipt_key, instance_digest, expires_at, log
({checked: false}, or with --log-key the verified {origin, index, size, root, leaf_hash,
recorded_status, consistent_with}), and error {code, message} when attestation did not complete.

\b
--log-key FILE (a gateway's log public key) also requires, after the appraisal affirmed, that the
answer proves its own record is in the gateway's signed evidence log; --log-state FILE keeps the last
checkpoint seen and requires each new one to be consistent with it (the token needs read_log for the
consistency proof). Log failures exit 1 with a log.* code.
"""


def load_policy_option(path: Path | None) -> tuple[BundlePolicy, str, bool]:
    """``(policy, source, is_default)`` for a ``--policy`` value (``None``: the default policy).

    The file may hold ``[snp]`` and/or ``[tdx]`` (and ``[nvidia]``) sections
    (:func:`~attestgw.attestation.parse_bundle_policy`); an SEV-SNP-only file reads exactly as before.
    """
    if path is None:
        data = (resources.files("attestgw") / "data" / "default-snp.toml").read_bytes()
        return parse_bundle_policy(data, source=str(DEFAULT_POLICY)), str(DEFAULT_POLICY), True
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError("input.unreadable", f"cannot read policy {path}: {exc.strerror}") from None
    return parse_bundle_policy(data, source=str(path)), str(path), False


def policy_note(is_default: bool) -> str | None:
    if not is_default:
        return None
    return (
        "no --policy: the default policy trusts only AMD's roots and refuses simulated evidence "
        "(for a simulated worker use the policy.toml it wrote)"
    )


def unreachable(url: str, exc: httpx.HTTPError) -> CollateralUnavailableError:
    return CollateralUnavailableError("worker.unreachable", f"{url}: {type(exc).__name__}: {exc}")


def refusal_out(out: dict[str, Any], err: AttestgwError) -> None:
    """Fill ``out`` for a refusal: every failed rule for an appraisal, else the one error."""
    out["error"] = {"code": err.code, "message": err.message}
    if isinstance(err, AttestationRefused):
        out["status"] = err.status.value
        out["appraisal"] = err.result.policy_ref
        out["simulated"] = err.result.simulated or any(r.simulated for r in err.gpu_results)
        out["failures"] = [f.as_dict() for f in err.failures]
        out["gpus"] = gpus_out(err.gpu_results)
        out["opt_ins"] = list(err.result.opt_ins)
        if err.result.attester in ("snp", "tdx"):
            out["tee"] = err.result.attester
        if err.cpu_claims is not None:
            cpu_claims_out(out, err.cpu_claims)
        return
    out["failures"] = [{"rule": "attest", "code": err.code, "got": err.message, "want": ""}]
    if isinstance(err, FormatError | VerificationError):
        out["status"] = "contraindicated"


def finish(out: dict[str, Any], as_json: bool, exit_code: int) -> NoReturn:
    """Print ``out`` (one JSON object, or the readable summary) and exit."""
    if as_json:
        emit(out, as_json, exit_code=exit_code)
    click.echo(_render(out))
    raise SystemExit(exit_code)


def session_out(out: dict[str, Any], session: AttestedSession) -> None:
    summary = session.summary()
    out.update(
        status=session.result.status.value,
        simulated=session.simulated,
        appraisal=session.result.policy_ref,
        failures=[],
        opt_ins=list(session.result.opt_ins),
        key_configs=summary["key_configs"],
        models=summary["models"],
        receipt_key={"alg": summary["receipt_key_alg"], "spki": summary["receipt_key_spki"]},
        instance_digest=summary["instance_digest"],
        expires_at=summary["expires_at"],
        gpus=gpus_out(session.gpu_results),
        log=summary["log"],
    )
    cpu_claims_out(out, session.cpu_claims)


def _render(out: dict[str, Any]) -> str:
    lines = [render_summary(out), *gpu_lines(out), f"  {'worker':<15} {out['url']}"]
    if out.get("note"):
        lines.append(click.style("  note           ", fg="yellow") + out["note"])
    for config in out.get("key_configs") or []:
        mark = " (selected)" if config["selected"] else ""
        lines.append(
            f"  {'key config':<15} id {config['key_id']} KEM {config['kem_id']} "
            f"KDF/AEAD {', '.join(config['symmetric'])}{mark}"
        )
    for model in out.get("models") or []:
        lines.append(f"  {'model':<15} {model['id']} sha256:{model['digest']}")
    if out.get("receipt_key"):
        lines.append(f"  {'receipt key':<15} Ed25519 spki {out['receipt_key']['spki'][:32]}…")
    log = out.get("log")
    if log and log.get("checked"):
        seen = f", consistent with {log['consistent_with']}" if log.get("consistent_with") is not None else ""
        lines.append(
            f"  {'evidence log':<15} entry {log['index']} of {log['origin']} size {log['size']}{seen}"
        )
    elif log is not None:
        lines.append(f"  {'evidence log':<15} not checked (no --log-key)")
    if out.get("expires_at"):
        lines.append(f"  {'session until':<15} {out['expires_at']}")
    if out.get("error") and not out.get("failures"):
        lines.append(f"  error: [{out['error']['code']}] {out['error']['message']}")
    return "\n".join(lines)


#: ``--token`` for commands that may go through a gateway (the OIDC access token it checks).
token_option = click.option(
    "--token",
    envvar="ATTESTGW_TOKEN",
    show_envvar=True,
    help="Bearer token for a gateway (an OIDC access token); never printed.",
)
#: ``--online`` and ``--cache-dir``: where the collateral a bundle lacks may come from.
online_option = click.option(
    "--online",
    is_flag=True,
    help="Allow fetching missing collateral (AMD KDS, Intel PCS, NVIDIA) into the cache.",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    help="Collateral cache (KDS, PCS, NVIDIA); read even offline.",
)
URL_HELP = "A gateway's or worker's base URL, e.g. http://127.0.0.1:8000."


@click.command(name="attest", help=_HELP)
@click.option("--url", required=True, help=URL_HELP)
@click.option("--model", help="Model to route to (a gateway needs it; default: the worker's only model).")
@token_option
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="Appraisal policy (TOML).")
@click.option("--at", "at_text", help="Verification time, ISO-8601 (default: now).")
@online_option
@cache_dir_option
@click.option("--timeout", type=float, default=30.0, show_default=True, help="HTTP timeout, seconds.")
@click.option(
    "--log-key",
    type=click.Path(path_type=Path),
    help="The gateway log's public key: also require the attestation's proof of inclusion in its log.",
)
@click.option(
    "--log-state",
    type=click.Path(path_type=Path),
    help="File keeping the last log checkpoint seen (checked for consistency with each new one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def attest_command(
    url: str,
    model: str | None,
    token: str | None,
    policy_path: Path | None,
    at_text: str | None,
    online: bool,
    cache_dir: Path | None,
    timeout: float,
    log_key: Path | None,
    log_state: Path | None,
    as_json: bool,
) -> None:
    out: dict[str, Any] = {"status": "none", "tee": "snp", "simulated": False, "appraisal": None, "url": url}
    try:
        if log_state is not None and log_key is None:
            raise UsageError("usage.invalid", "--log-state needs --log-key")
        monitor = LogMonitor.from_key(log_key, state_file=log_state) if log_key is not None else None
        policy, source, is_default = load_bundle_policy_option(policy_path)
        out["policy"] = source
        note = policy_note(is_default)
        if note:
            out["note"] = note
        at = _parse_at(at_text)
        try:
            with httpx.Client(timeout=timeout) as client:
                session = attest(
                    url,
                    policy,
                    http_client=client,
                    at=at,
                    online=online,
                    cache_dir=cache_dir,
                    model=model,
                    token=token,
                    log_key=monitor,
                )
        except httpx.HTTPError as exc:
            raise unreachable(url, exc) from None
    except AttestgwError as err:
        refusal_out(out, err)
        finish(out, as_json, err.exit_code)
    session_out(out, session)
    finish(out, as_json, 0)


def _parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise UsageError("usage.invalid", f"--at {text!r} is not an ISO-8601 time") from None
