"""``attestgw log``: read an evidence log — checkpoint, entries, inclusion and consistency proofs.

Every command takes the log by ``--db PATH`` (an SQLite log, opened read-only). ``--url`` is reserved
for the gateway's ``/v1/log`` API and refused for now (``usage.invalid``). With ``--log-key`` the
checkpoint is verified against the log's public key; proofs are always verified before they are
printed, against that checkpoint. Exit codes: 0 ok; 1 the log is inconsistent or a proof fails;
2 usage or unreadable input; 3 the log cannot be opened.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from attestgw.errors import AttestgwError, UsageError
from attestgw.log import LogStore, NoteVerifier, SqliteBackend, load_verifiers, verify_checkpoint
from attestgw.merkle import (
    Checkpoint,
    leaf_hash,
    parse_checkpoint,
    parse_note,
    verify_consistency,
    verify_inclusion,
)

__all__ = ["log"]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _finish(out: dict[str, Any], as_json: bool, text: str, code: int = 0) -> NoReturn:
    click.echo(json.dumps(out, indent=2, sort_keys=True) if as_json else text)
    sys.exit(code)


def _fail(err: AttestgwError, as_json: bool) -> NoReturn:
    out = {"ok": False, "error": {"code": err.code, "message": err.message}}
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        click.echo(f"error: {err.code}: {err.message}", err=True)
    sys.exit(3 if err.code == "log.store_unavailable" else err.exit_code)


def open_log(
    db: Path | None, url: str | None, log_key: Path | None
) -> tuple[LogStore, tuple[NoteVerifier, ...]]:
    """The log named by ``--db`` (read-only) and the verifiers of ``--log-key`` (none when absent)."""
    if url is not None:
        raise UsageError("usage.invalid", "--url needs the gateway's /v1/log API, which is not available yet")
    if db is None:
        raise UsageError("usage.invalid", "give the log with --db PATH")
    verifiers = load_verifiers(log_key) if log_key is not None else ()
    return LogStore(SqliteBackend(db, readonly=True), verifiers=verifiers), verifiers


def _checkpoint(store: LogStore, verifiers: tuple[NoteVerifier, ...], size: int | None = None) -> Checkpoint:
    note = store.checkpoint()
    if verifiers:
        return verify_checkpoint(note, verifiers, origin=store.origin).checkpoint
    checkpoint = parse_checkpoint(parse_note(note).text)
    return (
        checkpoint
        if size is None or size == checkpoint.size
        else Checkpoint(store.origin, size, store.root(size))
    )


def _run(as_json: bool, body: Callable[[], NoReturn]) -> NoReturn:
    try:
        body()
    except AttestgwError as err:
        _fail(err, as_json)


def _source(fn: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        (
            click.option("--db", type=click.Path(path_type=Path), help="SQLite evidence log (read-only)."),
            click.option("--url", help="Gateway base URL (reserved for the /v1/log API)."),
            click.option("--log-key", type=click.Path(path_type=Path), help="The log's public key file."),
            click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
        )
    ):
        fn = option(fn)
    return fn


@click.group()
def log() -> None:
    """Read the signed evidence log: checkpoint, entries, proofs."""


@log.command(name="checkpoint")
@_source
def checkpoint_command(db: Path | None, url: str | None, log_key: Path | None, as_json: bool) -> None:
    """Print the latest signed checkpoint (verified when --log-key is given)."""

    def body() -> NoReturn:
        store, verifiers = open_log(db, url, log_key)
        note = store.checkpoint()
        cp = _checkpoint(store, verifiers)
        out = {
            "ok": True,
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root_hash.hex(),
            "verified": bool(verifiers),
            "note": note.decode("utf-8"),
        }
        _finish(
            out,
            as_json,
            note.decode("utf-8") + ("" if verifiers else "(signature not checked: no --log-key)"),
        )

    _run(as_json, body)


@log.command(name="entries")
@_source
@click.option("--start", type=int, default=0, show_default=True)
@click.option("--end", type=int, help="Exclusive end (default: the checkpoint size).")
def entries_command(
    db: Path | None, url: str | None, log_key: Path | None, as_json: bool, start: int, end: int | None
) -> None:
    """Print records [start, end) as canonical JSON, one per line (with --json: a list)."""

    def body() -> NoReturn:
        store, _ = open_log(db, url, log_key)
        rows = store.entries(start, end if end is not None else store.size)
        items = [
            {"index": r.index, "record": json.loads(r.data), "evidence_stored": r.evidence is not None}
            for r in rows
        ]
        text = "\n".join(f"{r.index}\t{r.data.decode('utf-8')}" for r in rows)
        _finish({"ok": True, "entries": items}, as_json, text)

    _run(as_json, body)


@log.command(name="prove")
@_source
@click.option("--index", type=int, required=True, help="Leaf index to prove.")
@click.option("--size", type=int, help="Tree size (default: the latest checkpoint).")
def prove_command(
    db: Path | None, url: str | None, log_key: Path | None, as_json: bool, index: int, size: int | None
) -> None:
    """Print the inclusion proof of an entry, verified against the checkpoint root."""

    def body() -> NoReturn:
        store, verifiers = open_log(db, url, log_key)
        cp = _checkpoint(store, verifiers)
        n = cp.size if size is None else size
        root = cp.root_hash if n == cp.size else store.root(n)
        entry = store.entries(index, index + 1)[0]
        proof = store.inclusion_proof(index, n)
        verify_inclusion(leaf_hash(entry.data), index, n, proof, root)
        out = {
            "ok": True,
            "index": index,
            "size": n,
            "root": root.hex(),
            "leaf_hash": leaf_hash(entry.data).hex(),
            "proof": [_b64(h) for h in proof],
            "verified_against_signed_checkpoint": bool(verifiers) and n == cp.size,
        }
        text = f"entry {index} is included in tree {n} (root {root.hex()})\n" + "\n".join(
            _b64(h) for h in proof
        )
        _finish(out, as_json, text)

    _run(as_json, body)


@log.command(name="verify-consistency")
@_source
@click.option("--old", type=int, help="Older tree size (a stored checkpoint).")
@click.option(
    "--old-checkpoint", type=click.Path(path_type=Path), help="An older signed checkpoint a client kept."
)
@click.option("--new", type=int, help="Newer tree size (default: the latest checkpoint).")
def verify_consistency_command(
    db: Path | None,
    url: str | None,
    log_key: Path | None,
    as_json: bool,
    old: int | None,
    old_checkpoint: Path | None,
    new: int | None,
) -> None:
    """Check that the log at --new extends an older tree (--old size, or --old-checkpoint FILE)."""

    def body() -> NoReturn:
        store, verifiers = open_log(db, url, log_key)
        latest = _checkpoint(store, verifiers)
        if old_checkpoint is not None:
            try:
                data = old_checkpoint.read_bytes()
            except OSError as exc:
                raise UsageError(
                    "input.unreadable", f"cannot read {old_checkpoint}: {exc.strerror}"
                ) from None
            if not verifiers:
                raise UsageError("usage.invalid", "--old-checkpoint needs --log-key to verify it")
            kept = verify_checkpoint(data, verifiers, origin=store.origin).checkpoint
            old_size, old_root = kept.size, kept.root_hash
        elif old is not None:
            old_size, old_root = old, store.root(old)
        else:
            raise UsageError("usage.invalid", "give --old N or --old-checkpoint FILE")
        new_size = latest.size if new is None else new
        new_root = latest.root_hash if new_size == latest.size else store.root(new_size)
        proof = store.consistency_proof(old_size, new_size) if old_size else ()
        if old_size:
            verify_consistency(old_size, new_size, proof, old_root, new_root)
        out = {
            "ok": True,
            "old": old_size,
            "new": new_size,
            "old_root": old_root.hex(),
            "new_root": new_root.hex(),
            "proof": [_b64(h) for h in proof],
        }
        _finish(out, as_json, f"tree {new_size} is consistent with tree {old_size}")

    _run(as_json, body)
