"""A throwaway PostgreSQL server for the log tests: initdb into a temporary directory, listen only on a
unix socket there (no TCP at all), one fresh database per log, stopped at the end of the session.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user
(``runuser``), which scripts/test creates when missing. Binaries are looked up in
``$ATTESTGW_PG_BIN``, then /usr/lib/postgresql/<newest>/bin, then ``$PATH``; the tests that need
them are skipped, with that reason, when none is found.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest


def _bin_dir() -> Path | None:
    candidates = [os.environ.get("ATTESTGW_PG_BIN", "")]
    candidates += sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    found = shutil.which("initdb")
    candidates.append(str(Path(found).parent) if found else "")
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


class PostgresCluster:
    """A running server; :meth:`new_database` hands out ``postgresql://`` URLs of empty databases."""

    def __init__(self, root: Path) -> None:
        bindir = _bin_dir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(
                    "running as root needs a 'postgres' system user for the server (see scripts/test)"
                )
            self._prefix = ["runuser", "-u", "postgres", "--"]
            os.chown(root, user.pw_uid, user.pw_gid)
        self._bindir = bindir
        self.data = root / "data"
        self.socket_dir = root
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses='' -k {root} -c unix_socket_permissions=0777"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(root / "server.log"), "-w", "start"
        )
        self.admin_url = f"postgresql://postgres@/postgres?host={root}"
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, str(self._bindir / tool), *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def new_database(self) -> str:
        name = f"log{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]  # name is ours
        return f"postgresql://postgres@/{name}?host={self.socket_dir}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def cluster_fixture() -> Iterator[PostgresCluster]:
    """Body of the session-scoped ``postgres`` fixture (each conftest that needs it declares one).

    The directory is made with :func:`tempfile.mkdtemp`, not pytest's ``tmp_path``: pytest's base
    directory is private to root, and the server user must reach its data directory.
    """
    root = Path(tempfile.mkdtemp(prefix="attestgw-pg-"))
    try:
        cluster = PostgresCluster(root)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
