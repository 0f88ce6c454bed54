"""``attestgw audit``: re-verify an evidence log offline, and report on it.

``audit verify --db PATH --log-key FILE [--from N] [--no-evidence] [--json]`` runs
:func:`attestgw.audit.audit_log` and exits 0 when every check holds, 1 with the first bad index and
every finding otherwise, 2 on usage errors, 3 when the log cannot be opened. ``--url`` is reserved
for the gateway's log API. ``audit report --db PATH --out FILE`` writes a self-contained HTML page.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from attestgw.audit import audit_log
from attestgw.audit.report import render_report
from attestgw.errors import AttestgwError, UsageError
from attestgw.log import SqliteBackend, load_verifiers

__all__ = ["audit"]


def _backend(db: Path | None, url: str | None) -> SqliteBackend:
    if url is not None:
        raise UsageError("usage.invalid", "--url needs the gateway's /v1/log API, which is not available yet")
    if db is None:
        raise UsageError("usage.invalid", "give the log with --db PATH")
    return SqliteBackend(db, readonly=True)


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
@click.option("--db", type=click.Path(path_type=Path), help="SQLite evidence log (opened read-only).")
@click.option("--url", help="Gateway base URL (reserved for the /v1/log API).")
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (docs/evidence-log.md §5).")
def verify_command(
    db: Path | None, url: str | None, log_key: Path, start: int, no_evidence: bool, as_json: bool
) -> None:
    """Recompute the tree, verify every checkpoint and stored attestation, check every reference.

    \b
    Exit 0: everything holds. Exit 1: findings (the first bad index is printed). 2: usage. 3: no log.
    """
    try:
        verifiers = load_verifiers(log_key)
        backend = _backend(db, url)
    except AttestgwError as err:
        _error(err, as_json)
        return
    try:
        progress = None if as_json or not sys.stderr.isatty() else _progress
        report = audit_log(backend, verifiers, start=start, reverify=not no_evidence, progress=progress)
    except AttestgwError as err:
        _error(err, as_json)
        return
    finally:
        backend.close()
    out = report.as_dict()
    out["evidence_reverified"] = not no_evidence
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
@click.option("--db", type=click.Path(path_type=Path), help="SQLite evidence log (opened read-only).")
@click.option("--url", help="Gateway base URL (reserved for the /v1/log API).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True, help="HTML file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def report_command(db: Path | None, url: str | None, out_path: Path, as_json: bool) -> None:
    """Write a self-contained HTML report (charts inline, no external assets)."""
    try:
        backend = _backend(db, url)
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
