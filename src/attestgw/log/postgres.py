"""PostgreSQL storage for the evidence log: several gateway replicas appending to one log.

Selected by a ``postgresql://`` (or ``postgres://``) connection URL where a path selects SQLite
(:func:`attestgw.log.database.open_backend`). One log per database (or per ``search_path``).

Sequencing and durability, numbered as in :meth:`PostgresBackend.write`:

1. every write transaction runs at READ COMMITTED and first takes a transaction-scoped advisory lock
   (``pg_advisory_xact_lock``), so one writer at a time, across every process and host, reads the
   entries others committed, assigns the next indices and inserts its batch with its checkpoint;
   each statement after the lock sees every transaction committed before the lock was granted (a
   lock is released only after its holder's commit is visible);
2. ``idx`` and ``size`` are primary keys, so even a writer that skipped the lock could not store a
   second entry at an index;
3. the session runs with ``synchronous_commit = on`` and opening refuses a server with ``fsync`` off:
   :meth:`write` returns only after ``COMMIT`` is flushed to the server's WAL, which is when the store
   acknowledges the batch. A commit whose outcome is unknown (the connection dropped) is reported as
   a failure; the store then adopts the batch if it did commit, so it is never counted twice.

Readers use a second autocommit connection and see only committed batches. Errors are
``log.store_unavailable`` and name the server as ``location`` (the URL without its password).
Not checked here: whether the rows are consistent (the store and the auditor do that), or who else
may write to the database (give gateways a role that can only insert).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict

from attestgw.errors import ServiceUnavailableError
from attestgw.log._sql_reads import SqlReads
from attestgw.log.backend import STORAGE_SCHEMA, EntryRow, check_meta

__all__ = ["PostgresBackend", "is_postgres_url", "redact_url"]

#: The advisory lock every writer takes (one 64-bit key, derived from a fixed name).
_WRITE_LOCK = int.from_bytes(hashlib.sha256(b"attestgw.log write lock").digest()[:8], "big", signed=True)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_entries "
    "(idx BIGINT PRIMARY KEY, leaf_hash BYTEA NOT NULL, data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_evidence "
    "(idx BIGINT PRIMARY KEY, bundle BYTEA NOT NULL, nonce BYTEA NOT NULL, policy BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (size BIGINT PRIMARY KEY, note BYTEA NOT NULL)",
)


def is_postgres_url(location: str) -> bool:
    """True for ``postgresql://…`` and ``postgres://…`` (what selects this backend)."""
    return location.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """``postgresql://user@host:port/dbname`` for messages: never the password or other options."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unparsable URL)"
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host') or ''}{port}/{params.get('dbname') or ''}"


class _Txn:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def rows_since(self, start: int) -> list[EntryRow]:
        with self._conn.cursor(binary=True) as cur:
            cur.execute("SELECT idx, leaf_hash, data FROM log_entries WHERE idx >= %s ORDER BY idx", (start,))
            return [EntryRow(int(i), bytes(h), bytes(d)) for i, h, d in cur]

    def insert(self, rows: Sequence[EntryRow], size: int, note: bytes) -> None:
        with self._conn.cursor() as cur:
            if rows:
                with cur.copy("COPY log_entries (idx, leaf_hash, data) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "bytea", "bytea"])
                    for r in rows:
                        copy.write_row((r.index, r.leaf_hash, r.data))
            evidence = [(r.index, r.evidence) for r in rows if r.evidence is not None]
            if evidence:
                with cur.copy(
                    "COPY log_evidence (idx, bundle, nonce, policy) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["int8", "bytea", "bytea", "bytea"])
                    for index, ev in evidence:
                        copy.write_row((index, ev.bundle, ev.nonce, ev.policy))
            cur.execute(
                "INSERT INTO log_checkpoints (size, note) VALUES (%s, %s) ON CONFLICT (size) DO NOTHING",
                (size, note),
            )

    def signing_key(self) -> str | None:
        found = self._conn.execute("SELECT value FROM log_meta WHERE key = 'signing_key'").fetchone()
        return None if found is None else str(found[0])

    def set_signing_key(self, vkey: str) -> None:
        self._conn.execute(
            "INSERT INTO log_meta (key, value) VALUES ('signing_key', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (vkey,),
        )


class PostgresBackend(SqlReads):
    """One log in one PostgreSQL database. ``origin`` is required to create a log and must match an
    existing one; ``readonly=True`` (the audit CLI) creates nothing and runs read-only transactions.
    """

    def __init__(self, url: str, *, origin: str | None = None, readonly: bool = False) -> None:
        self._url = url
        self._location = redact_url(url)
        self._readonly = readonly
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer: psycopg.Connection[Any] | None = None
        try:
            self._reader = self._connect()
            fsync = self._reader.execute("SHOW fsync").fetchone()
            if not readonly and (fsync is None or str(fsync[0]).lower() != "on"):
                raise ServiceUnavailableError(
                    "log.store_unavailable", f"{self._location}: fsync is off, so commits are not durable"
                )
            if not readonly:
                self._writer = self._connect()
                self._create(origin)
            self._origin = self._check_meta(origin)
        except psycopg.Error as exc:
            self.close()
            raise self._unavailable(exc) from None
        except BaseException:
            self.close()
            raise

    def _unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ServiceUnavailableError("log.store_unavailable", f"log database {self._location}: {detail}")

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        conn.isolation_level = IsolationLevel.READ_COMMITTED
        conn.execute("SET synchronous_commit = on")
        if self._readonly:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    def _create(self, origin: str | None) -> None:
        conn = self._writer
        assert conn is not None
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))  # concurrent creators
            for statement in _SCHEMA:
                conn.execute(statement)
            if origin is not None:
                conn.execute(
                    "INSERT INTO log_meta (key, value) VALUES ('origin', %s), ('schema', %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (origin, STORAGE_SCHEMA),
                )

    def _check_meta(self, origin: str | None) -> str:
        exists = self._reader.execute("SELECT to_regclass('log_meta') IS NOT NULL").fetchone()
        rows = []
        if exists is not None and exists[0]:
            rows = self._reader.execute("SELECT key, value FROM log_meta").fetchall()
        meta = {str(k): str(v) for k, v in rows}
        if not meta:
            raise ServiceUnavailableError(
                "log.store_unavailable", f"{self._location} is not an attestgw log (no log_meta)"
            )
        return check_meta(meta, origin, self._location)

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def location(self) -> str:
        return self._location

    @contextmanager
    def write(self) -> Iterator[_Txn]:
        """A write transaction (module docstring, steps 1-3); commits when the block exits cleanly."""
        if self._readonly:
            raise ServiceUnavailableError("log.store_read_only", f"{self._location} was opened read-only")
        with self._write_lock:
            try:
                if self._writer is None or self._writer.closed or self._writer.broken:
                    self._writer = self._connect()  # a lost connection is re-opened for the next batch
                conn = self._writer
                with conn.transaction():
                    # 1. one writer at a time; what it reads next includes every earlier commit
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                    yield _Txn(conn)
                # 3. leaving the block committed (synchronous_commit = on: flushed to the WAL)
            except psycopg.Error as exc:
                raise self._unavailable(exc) from None

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            try:
                if self._reader.broken:
                    self._reader = self._connect()
                with self._reader.cursor(binary=True) as cur:
                    cur.execute(sql, args)
                    return cur.fetchall()
            except psycopg.Error as exc:
                raise self._unavailable(exc) from None

    _MARK = "%s"

    def close(self) -> None:
        for conn in (self._writer, getattr(self, "_reader", None)):
            if conn is not None and not conn.closed:
                conn.close()
