"""Open the log's storage from one setting: a path selects SQLite, a ``postgresql://`` URL PostgreSQL.

:func:`open_backend` is what the CLI (``--db``) and the gateway's settings call. The PostgreSQL
module, and with it ``psycopg`` (the ``gateway`` extra), is imported only when a URL asks for it, so
the core install (client, verifier, audit of SQLite logs) does not need it.

Not checked here: anything about the log (each backend checks what it opens).
"""

from __future__ import annotations

from pathlib import Path

from attestgw.errors import ServiceUnavailableError
from attestgw.log.backend import Backend
from attestgw.log.sqlite import SqliteBackend

__all__ = ["open_backend"]


def open_backend(location: str | Path, *, origin: str | None = None, readonly: bool = False) -> Backend:
    """The backend for ``location``: ``postgresql://…``/``postgres://…`` or a SQLite file path.

    ``origin`` creates the log when it does not exist (and must match when it does); ``readonly``
    opens an existing log for reading only. ``log.store_unavailable`` when it cannot be opened.
    """
    text = str(location)
    if isinstance(location, str) and text.startswith(("postgresql://", "postgres://")):
        try:
            from attestgw.log.postgres import PostgresBackend  # noqa: PLC0415  # optional dependency
        except ImportError:
            raise ServiceUnavailableError(
                "log.store_unavailable",
                "a PostgreSQL log needs psycopg: install attestgw[gateway]",
            ) from None
        return PostgresBackend(text, origin=origin, readonly=readonly)
    return SqliteBackend(Path(location), origin=origin, readonly=readonly)
