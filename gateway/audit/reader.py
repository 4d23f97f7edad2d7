"""What the ``lastmile audit`` commands read, whichever engine holds the log.

A :class:`LogReader` is synchronous (the commands are) and read-only: it never opens
the log as a writer. :class:`SqliteReader` reads a SQLite file; the PostgreSQL reader
(:mod:`gateway.audit.pg_reader`) runs its queries on an event loop of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from gateway.audit import sqlite_log
from gateway.audit.entries import Entry
from gateway.audit.export import store_snapshot
from gateway.audit.prove import consistency_proof, inclusion_proof
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.store import AuditQuery
from gateway.audit.verify import LogSnapshot
from gateway.config import Config


class LogReader(Protocol):
    def search(self, query: AuditQuery) -> list[Entry]: ...

    def find_request(self, request_id: str) -> list[StoredEntry]: ...

    def snapshot(
        self, resume: dict[str, Any] | None = None
    ) -> contextlib.AbstractContextManager[LogSnapshot]:
        """One consistent view, entries read lazily (constant memory); from an earlier
        verification's resume point when one is given."""

    def inclusion_proof(self, request_id: str) -> dict[str, Any]: ...

    def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]: ...

    def writers(self) -> list[dict[str, Any]]:
        """The processes that appended (empty for SQLite, whose writers are not named)."""

    def close(self) -> None: ...


class SqliteReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite_log.connect(path, create=False)

    def search(self, query: AuditQuery) -> list[Entry]:
        return sqlite_log.search(self._db, query)

    def find_request(self, request_id: str) -> list[StoredEntry]:
        return sqlite_log.find_request(self._db, request_id)

    @contextlib.contextmanager
    def snapshot(self, resume: dict[str, Any] | None = None) -> Iterator[LogSnapshot]:
        with store_snapshot(self.path, resume) as snapshot:
            yield snapshot

    def inclusion_proof(self, request_id: str) -> dict[str, Any]:
        return inclusion_proof(self._db, request_id)

    def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        return consistency_proof(self._db, first, second)

    def writers(self) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        self._db.close()


def open_log_reader(config: Config) -> LogReader:
    """The log the ``audit:`` section names: ``audit.path`` or, with ``store: postgres``,
    the shared database. Open it on the thread that will use it (a SQLite connection
    stays on its thread)."""
    if config.audit.store == "postgres" and config.postgres is not None:
        from gateway.audit.pg_reader import PostgresReader  # asyncpg only for fleets

        return PostgresReader(config.postgres)
    return SqliteReader(Path(config.audit.path))
