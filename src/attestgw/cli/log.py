"""``attestgw log``: read an evidence log — checkpoint, entries, inclusion and consistency proofs.

Every command takes the log by ``--db PATH|URL`` (an SQLite file or a ``postgresql://`` URL, opened
read-only) or by ``--url URL --token T``: a gateway's ``/v1/log`` API (the token needs ``read_log``).
With ``--log-key`` the checkpoint is verified against the log's public key; proofs are always
verified before they are printed, against that checkpoint. Over ``--url`` only the latest
checkpoint's root is known, so ``prove --size`` and ``verify-consistency --old N`` need ``--db``
(use ``--old-checkpoint FILE``, a checkpoint kept earlier). Exit codes: 0 ok; 1 the log is
inconsistent or a proof fails; 2 usage or unreadable input; 3 the log (or gateway) cannot be reached.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

from attestgw.client.logapi import LogApiClient
from attestgw.errors import AttestgwError, ServiceUnavailableError, UsageError
from attestgw.log import LogStore, NoteVerifier, load_verifiers, open_backend, verify_checkpoint
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
    db: str | None, url: str | None, log_key: Path | None
) -> tuple[LogStore, tuple[NoteVerifier, ...]]:
    """The log named by ``--db`` (read-only) and the verifiers of ``--log-key`` (none when absent)."""
    if url is not None:
        raise UsageError("usage.invalid", "open_log reads --db; --url reads through the gateway API")
    if db is None:
        raise UsageError("usage.invalid", "give the log with --db PATH or --db postgresql://…")
    verifiers = load_verifiers(log_key) if log_key is not None else ()
    return LogStore(open_backend(db, readonly=True), verifiers=verifiers), verifiers


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


class _Remote:
    """The log through a gateway's ``/v1/log`` API (the latest checkpoint is the only root known)."""

    def __init__(self, url: str, token: str | None, log_key: Path | None, db: str | None) -> None:
        if db is not None:
            raise UsageError("usage.invalid", "give the log with --db or --url, not both")
        self.verifiers = load_verifiers(log_key) if log_key is not None else ()
        self.api = LogApiClient(url, token=token)

    def checkpoint(self) -> tuple[bytes, Checkpoint]:
        note = self.api.checkpoint()
        if self.verifiers:  # the log's origin is its key's name (tlog-checkpoint)
            return note, verify_checkpoint(note, self.verifiers, origin=self.verifiers[0].name).checkpoint
        return note, parse_checkpoint(parse_note(note).text)


def _run(as_json: bool, body: Callable[[], NoReturn]) -> NoReturn:
    try:
        body()
    except AttestgwError as err:
        _fail(err, as_json)
    except httpx.HTTPError as exc:
        _fail(ServiceUnavailableError("log.store_unavailable", f"{type(exc).__name__}: {exc}"), as_json)


def _source(fn: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        (
            click.option("--db", help="Evidence log: SQLite file or postgresql:// URL (read-only)."),
            click.option("--url", help="Gateway base URL: read through its /v1/log API (needs --token)."),
            click.option(
                "--token", envvar="ATTESTGW_TOKEN", show_envvar=True, help="Bearer token (read_log)."
            ),
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
def checkpoint_command(
    db: str | None, url: str | None, token: str | None, log_key: Path | None, as_json: bool
) -> None:
    """Print the latest signed checkpoint (verified when --log-key is given)."""

    def body() -> NoReturn:
        if url is not None:
            remote = _Remote(url, token, log_key, db)
            note, cp = remote.checkpoint()
            verifiers = remote.verifiers
        else:
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
    db: str | None,
    url: str | None,
    token: str | None,
    log_key: Path | None,
    as_json: bool,
    start: int,
    end: int | None,
) -> None:
    """Print records [start, end) as canonical JSON, one per line (with --json: a list)."""

    def body() -> NoReturn:
        if url is not None:
            remote = _Remote(url, token, log_key, db)
            stop = end if end is not None else remote.checkpoint()[1].size
            rows = list(remote.api.entries(start, stop))
        else:
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
    db: str | None,
    url: str | None,
    token: str | None,
    log_key: Path | None,
    as_json: bool,
    index: int,
    size: int | None,
) -> None:
    """Print the inclusion proof of an entry, verified against the checkpoint root."""

    def body() -> NoReturn:
        if url is not None:
            remote = _Remote(url, token, log_key, db)
            cp, verifiers = remote.checkpoint()[1], remote.verifiers
            if size is not None and size != cp.size:
                raise UsageError("usage.invalid", "over --url only the latest checkpoint's root is known")
            n, root = cp.size, cp.root_hash
            entry = next(iter(remote.api.entries(index, index + 1)))
            proof = remote.api.inclusion(index, n)
        else:
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
    db: str | None,
    url: str | None,
    token: str | None,
    log_key: Path | None,
    as_json: bool,
    old: int | None,
    old_checkpoint: Path | None,
    new: int | None,
) -> None:
    """Check that the log at --new extends an older tree (--old size, or --old-checkpoint FILE)."""

    def body() -> NoReturn:
        if url is not None:
            _remote_consistency(_Remote(url, token, log_key, db), old, old_checkpoint, new, as_json)
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


def _remote_consistency(
    remote: _Remote, old: int | None, old_checkpoint: Path | None, new: int | None, as_json: bool
) -> NoReturn:
    if old_checkpoint is None or old is not None or new is not None:
        raise UsageError("usage.invalid", "over --url give --old-checkpoint FILE (and no --old/--new)")
    if not remote.verifiers:
        raise UsageError("usage.invalid", "--old-checkpoint needs --log-key to verify it")
    try:
        data = old_checkpoint.read_bytes()
    except OSError as exc:
        raise UsageError("input.unreadable", f"cannot read {old_checkpoint}: {exc.strerror}") from None
    _, latest = remote.checkpoint()
    kept = verify_checkpoint(data, remote.verifiers, origin=latest.origin).checkpoint
    if kept.size > latest.size:
        first, second = latest, kept
    else:
        first, second = kept, latest
    proof = remote.api.consistency(first.size, second.size) if first.size < second.size else ()
    if first.size:
        verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash)
    out = {
        "ok": True,
        "old": kept.size,
        "new": latest.size,
        "old_root": kept.root_hash.hex(),
        "new_root": latest.root_hash.hex(),
        "proof": [_b64(h) for h in proof],
    }
    _finish(out, as_json, f"tree {latest.size} is consistent with the kept tree {kept.size}")
