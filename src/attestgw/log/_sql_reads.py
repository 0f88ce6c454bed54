"""The read side the SQL backends share: the same tables, the same queries, their own placeholders.

:class:`SqlReads` implements the :class:`~attestgw.log.backend.Backend` reads (``count``,
``leaf_hashes``, ``rows``, ``evidence``, ``latest_checkpoint``, ``checkpoints``) over the schema both
backends create (``log_entries``, ``log_evidence``, ``log_checkpoints``). A subclass gives ``_query``
(run one read, mapping driver errors to ``log.store_unavailable``), its parameter marker and how a
stored value becomes bytes (SQLite is dynamically typed; PostgreSQL returns ``bytes``/``memoryview``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from attestgw.log.backend import EntryRow
from attestgw.log.records import Evidence

__all__ = ["SqlReads"]

#: Rows fetched per query when reading entries (leaf hashes: 16 times as many).
CHUNK = 4096


class SqlReads:
    """Read queries over the log tables; see the module docstring for what a subclass provides."""

    #: the driver's parameter marker (``?`` for sqlite3, ``%s`` for psycopg)
    _MARK = "?"

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _bytes(self, value: object) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"a blob column returned {type(value).__name__}")

    def _sql(self, text: str) -> str:
        return text.replace("?", self._MARK)

    def _stop(self, end: int | None) -> int:
        if end is not None:
            return end
        top = self._query("SELECT MAX(idx) FROM log_entries")[0][0]
        return -1 if top is None else int(top) + 1

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM log_entries")[0][0])

    def leaf_hashes(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        stop = self._stop(None)
        sql = self._sql("SELECT idx, leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx")
        for low in range(start, stop, CHUNK * 16):
            for idx, value in self._query(sql, (low, min(stop, low + CHUNK * 16))):
                yield int(idx), self._bytes(value)

    def rows(self, start: int, end: int | None = None, *, evidence: bool = False) -> Iterator[EntryRow]:
        stop = self._stop(end)
        as_bytes = self._bytes
        if not evidence:
            sql = self._sql(
                "SELECT idx, leaf_hash, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx"
            )
            for low in range(start, stop, CHUNK):
                for idx, value, data in self._query(sql, (low, min(stop, low + CHUNK))):
                    yield EntryRow(int(idx), as_bytes(value), as_bytes(data))
            return
        sql = self._sql(
            "SELECT e.idx, e.leaf_hash, e.data, v.bundle, v.nonce, v.policy FROM log_entries e "
            "LEFT JOIN log_evidence v ON v.idx = e.idx WHERE e.idx >= ? AND e.idx < ? ORDER BY e.idx"
        )
        for low in range(start, stop, CHUNK):
            for idx, value, data, bundle, nonce, policy in self._query(sql, (low, min(stop, low + CHUNK))):
                ev = None if bundle is None else Evidence(as_bytes(bundle), as_bytes(nonce), as_bytes(policy))
                yield EntryRow(int(idx), as_bytes(value), as_bytes(data), ev)

    def evidence(self, index: int) -> Evidence | None:
        found = self._query(
            self._sql("SELECT bundle, nonce, policy FROM log_evidence WHERE idx = ?"), (index,)
        )
        if not found:
            return None
        bundle, nonce, policy = found[0]
        return Evidence(self._bytes(bundle), self._bytes(nonce), self._bytes(policy))

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        found = self._query("SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
        return (int(found[0][0]), self._bytes(found[0][1])) if found else None

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        for size, note in self._query("SELECT size, note FROM log_checkpoints ORDER BY size"):
            yield int(size), self._bytes(note)
