"""``attestgw audit``: re-verify an evidence log offline, and report on it.

``audit verify --db PATH|URL --log-key FILE [--from N] [--no-evidence] [--json]`` runs
:func:`attestgw.audit.audit_log` and exits 0 when every check holds, 1 with the first bad index and
every finding otherwise, 2 on usage errors, 3 when the log cannot be opened. ``audit verify --url URL
--token T`` audits through the gateway's ``/v1/log`` API (:class:`~attestgw.client.logapi.RemoteLogBackend`):
every entry and its evidence are fetched and re-verified, but only the latest checkpoint is served,
so older checkpoints are not checked, and the stored leaf hashes are the gateway's claim (each is
recomputed from the record bytes, which is what the tree and checkpoint check rely on). ``audit
report --db PATH|--url URL --out FILE`` writes a self-contained HTML page (the report reads what
it is shown; it does not verify — ``audit verify`` does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import httpx

from attestgw.audit import audit_log
from attestgw.audit.report import render_report
from attestgw.client.logapi import LogApiClient, RemoteLogBackend
from attestgw.errors import AttestgwError, ServiceUnavailableError, UsageError
from attestgw.log import Backend, load_verifiers, open_backend

__all__ = ["audit"]


def _backend(db: str | None, url: str | None, token: str | None = None, *, remote: bool = False) -> Backend:
    if url is not None and db is not None:
        raise UsageError("usage.invalid", "give the log with --db or --url, not both")
    if url is not None:
        if not remote:
            raise UsageError("usage.invalid", "this command reads the log with --db only")
        try:
            return RemoteLogBackend(LogApiClient(url, token=token))
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError("log.store_unavailable", f"{url}: {type(exc).__name__}") from None
    if db is None:
        raise UsageError("usage.invalid", "give the log with --db PATH or --db postgresql://…")
    return open_backend(db, readonly=True)


def _error(err: AttestgwError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"code": err.code, "message": err.message}}, indent=2))
    else:
        click.echo(f"error: {err.code}: {err.message}", err=True)
    sys.exit(3 if err.code == "log.store_unavailable" else err.exit_code)


@click.group()
def audit() -> None:
    """Audit the signed evidence log offline."""


@audit.command(name="verify")
@click.option("--db", help="Evidence log: SQLite file or postgresql:// URL (opened read-only).")
@click.option("--url", help="Gateway base URL: audit through its /v1/log API (needs --token with read_log).")
@click.option(
    "--token", envvar="ATTESTGW_TOKEN", show_envvar=True, help="Bearer token for --url; never printed."
)
@click.option("--log-key", type=click.Path(path_type=Path), required=True, help="The log's public key file.")
@click.option(
    "--from",
    "start",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Re-verify evidence and references from this index (the tree is always recomputed).",
)
@click.option(
    "--no-evidence", is_flag=True, help="Skip re-verifying stored attestations (recorded in the output)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (docs/evidence-log.md §4).")
def verify_command(
    db: str | None,
    url: str | None,
    token: str | None,
    log_key: Path,
    start: int,
    no_evidence: bool,
    as_json: bool,
) -> None:
    """Recompute the tree, verify every checkpoint and stored attestation, check every reference.

    \b
    Exit 0: everything holds. Exit 1: findings (the first bad index is printed). 2: usage. 3: no log.
    """
    try:
        verifiers = load_verifiers(log_key)
        backend = _backend(db, url, token, remote=True)
    except AttestgwError as err:
        _error(err, as_json)
        return
    try:
        progress = None if as_json or not sys.stderr.isatty() else _progress
        report = audit_log(backend, verifiers, start=start, reverify=not no_evidence, progress=progress)
    except AttestgwError as err:
        _error(err, as_json)
        return
    except httpx.HTTPError as exc:
        _error(ServiceUnavailableError("log.store_unavailable", f"{url}: {type(exc).__name__}"), as_json)
        return
    finally:
        backend.close()
    out = report.as_dict()
    out["evidence_reverified"] = not no_evidence
    if url is not None:
        out["source"] = "gateway"
        out["not_checked_remotely"] = [
            "checkpoints older than the latest (the API serves only the latest)",
            "the stored leaf hashes as stored (the gateway reports them; each is recomputed from the record)",
        ]
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        click.echo(_summary(out))
    sys.exit(0 if report.ok else 1)


def _progress(count: int) -> None:
    click.echo(f"\r  {count} entries read", nl=False, err=True)


def _summary(out: dict[str, object]) -> str:
    head = (
        click.style("OK", fg="green", bold=True) if out["ok"] else click.style("FAILED", fg="red", bold=True)
    )
    lines = [
        f"{head}  log {out['origin']}: {out['entries']} entries, {out['checkpoints']} checkpoints",
        f"  checked from {out['from']}: {out['entries_checked']} entries, "
        f"{out['attestations_reverified']} attestations re-verified",
    ]
    if not out["evidence_reverified"]:
        lines.append(
            click.style("  opt-in  ", fg="yellow") + "stored evidence was not re-verified (--no-evidence)"
        )
    findings = out["findings"]
    assert isinstance(findings, list)
    if findings:
        lines.append(f"  first bad index: {out['first_bad_index']}")
        lines.append(f"  {len(findings)} finding(s):")
        lines.extend(f"    - [{f['code']}] entry {f['index']}: {f['message']}" for f in findings)
    return "\n".join(lines)


@audit.command(name="report")
@click.option("--db", help="Evidence log: SQLite file or postgresql:// URL (opened read-only).")
@click.option("--url", help="Gateway base URL: read the log through its /v1/log API (needs read_log).")
@click.option(
    "--token", envvar="ATTESTGW_TOKEN", show_envvar=True, help="Bearer token for --url; never printed."
)
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="HTML file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def report_command(db: str | None, url: str | None, token: str | None, out_path: Path, as_json: bool) -> None:
    """Write a self-contained HTML report (charts inline, no external assets)."""
    try:
        backend = _backend(db, url, token, remote=True)
        try:
            html, summary = render_report(backend)
        finally:
            backend.close()
        try:
            out_path.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise UsageError("usage.invalid", f"cannot write {out_path}: {exc.strerror}") from None
    except AttestgwError as err:
        _error(err, as_json)
        return
    summary["out"] = str(out_path)
    click.echo(json.dumps(summary, indent=2, sort_keys=True) if as_json else f"wrote {out_path}")
