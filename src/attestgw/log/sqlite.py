"""SQLite storage for the evidence log (the embedded default): WAL, ``synchronous=FULL``.

Durability: every write transaction ends in a WAL commit that SQLite fsyncs (``synchronous=FULL``),
so once :meth:`SqliteBackend.write` returns, the batch survives a process kill or power loss. The
write lock is SQLite's own (``BEGIN IMMEDIATE``), which also serializes a second process that opens
the same file; readers use their own connection and see only committed batches (WAL snapshots).

Opening checks ``journal_mode`` really became ``wal`` (it cannot on some network file systems) and
that the storage schema version is this one; anything else is ``log.store_unavailable``. Not
checked here: whether the rows are consistent (the store and the auditor do that).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attestgw.errors import ServiceUnavailableError
from attestgw.log._sql_reads import SqlReads
from attestgw.log.backend import STORAGE_SCHEMA, EntryRow, check_meta

__all__ = ["SqliteBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_entries (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_evidence (
    idx INTEGER PRIMARY KEY, bundle BLOB NOT NULL, nonce BLOB NOT NULL, policy BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
"""


def _blob(value: object) -> bytes:
    """Stored bytes as bytes. SQLite is dynamically typed: an edited row may hold TEXT or a number
    where a BLOB was written; read it as its bytes and let the checks above find the difference."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b"" if value is None else str(value).encode("ascii")


def _unavailable(path: Path, exc: BaseException) -> ServiceUnavailableError:
    return ServiceUnavailableError("log.store_unavailable", f"log database {path}: {exc}")


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode={'ro' if readonly else 'rwc'}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class _Txn:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows_since(self, start: int) -> list[EntryRow]:
        cur = self._conn.execute(
            "SELECT idx, leaf_hash, data FROM log_entries WHERE idx >= ? ORDER BY idx", (start,)
        )
        return [EntryRow(i, _blob(h), _blob(d)) for i, h, d in cur]

    def insert(self, rows: Sequence[EntryRow], size: int, note: bytes) -> None:
        self._conn.executemany(
            "INSERT INTO log_entries (idx, leaf_hash, data) VALUES (?, ?, ?)",
            [(r.index, r.leaf_hash, r.data) for r in rows],
        )
        self._conn.executemany(
            "INSERT INTO log_evidence (idx, bundle, nonce, policy) VALUES (?, ?, ?, ?)",
            [(r.index, r.evidence.bundle, r.evidence.nonce, r.evidence.policy) for r in rows if r.evidence],
        )
        self._conn.execute("INSERT OR IGNORE INTO log_checkpoints (size, note) VALUES (?, ?)", (size, note))

    def signing_key(self) -> str | None:
        found = self._conn.execute("SELECT value FROM log_meta WHERE key = 'signing_key'").fetchone()
        return None if found is None else str(found[0])

    def set_signing_key(self, vkey: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO log_meta (key, value) VALUES ('signing_key', ?)", (vkey,))


class SqliteBackend(SqlReads):
    """One SQLite log file. ``origin`` is required to create a log and must match an existing one.

    ``readonly=True`` opens an existing file for reading only (the audit CLI): no schema is created
    and :meth:`write` fails.
    """

    def __init__(self, path: str | Path, *, origin: str | None = None, readonly: bool = False) -> None:
        self._path = Path(path)
        self._readonly = readonly
        if readonly and not self._path.is_file():
            raise ServiceUnavailableError(
                "log.store_unavailable", f"log database {self._path} does not exist"
            )
        try:
            self._writer = None if readonly else _connect(self._path, readonly=False)
            if self._writer is not None:
                mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise ServiceUnavailableError(
                        "log.store_unavailable",
                        f"log database {self._path}: journal_mode is {mode}, want wal",
                    )
                self._writer.execute("PRAGMA synchronous = FULL")
                self._writer.executescript(_SCHEMA)
            self._reader = _connect(self._path, readonly=readonly)
            self._origin = self._check_meta(origin)
        except sqlite3.Error as exc:
            raise _unavailable(self._path, exc) from None
        self._read_lock = threading.Lock()

    def _check_meta(self, origin: str | None) -> str:
        try:
            meta = dict(self._reader.execute("SELECT key, value FROM log_meta").fetchall())
        except sqlite3.OperationalError:
            meta = {}
        if not meta:
            if origin is None or self._writer is None:
                raise ServiceUnavailableError(
                    "log.store_unavailable", f"{self._path} is not an attestgw log (no log_meta)"
                )
            self._writer.execute("BEGIN IMMEDIATE")
            self._writer.executemany(
                "INSERT OR IGNORE INTO log_meta (key, value) VALUES (?, ?)",
                [("origin", origin), ("schema", STORAGE_SCHEMA)],
            )
            self._writer.execute("COMMIT")
            meta = dict(self._reader.execute("SELECT key, value FROM log_meta").fetchall())
        return check_meta(meta, origin, str(self._path))

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def location(self) -> str:
        return str(self._path)

    @contextmanager
    def write(self) -> Iterator[_Txn]:
        if self._writer is None:
            raise ServiceUnavailableError("log.store_read_only", f"{self._path} was opened read-only")
        conn = self._writer
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _unavailable(self._path, exc) from None
        try:
            yield _Txn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _unavailable(self._path, exc) from None

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            try:
                return self._reader.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _unavailable(self._path, exc) from None

    def _bytes(self, value: object) -> bytes:
        return _blob(value)

    def close(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                conn.close()
