"""The PostgreSQL log for the synchronous ``lastmile audit`` commands: a small pool and
an event loop on a thread of their own; every read is one coroutine run there.

Snapshots hand the caller's thread a lazily paged entry iterable
(:class:`pg_log.PagedEntries`) whose pages are fetched on that loop, so verify and
export read a log of any size in constant memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg

from gateway.audit import pg_log
from gateway.audit.entries import Entry
from gateway.audit.sqlite_log import StoredEntry, StoreLayoutError
from gateway.audit.store import AuditQuery
from gateway.audit.verify import LogSnapshot
from gateway.config.fleet import PostgresConfig
from gateway.postgres import unavailable_as
from gateway.postgres.pool import open_pool
from schemas.errors import AuditUnavailable

T = TypeVar("T")
_UNREACHABLE = "PostgreSQL (the postgres: section's dsn) cannot be reached"


class PostgresReader:
    def __init__(self, config: PostgresConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self.pool: asyncpg.Pool = self._open(config)
            if not self.run(self.pool.fetchval("SELECT to_regclass('audit_head') IS NOT NULL")):
                raise StoreLayoutError(
                    "this database holds no audit log yet: start a gateway with "
                    "audit.store: postgres, or copy a SQLite trail with `lastmile audit migrate`"
                )
        except BaseException:
            self._stop()
            raise

    def _open(self, config: PostgresConfig) -> asyncpg.Pool:
        try:
            return self.run(open_pool(config.model_copy(update={"pool_min": 1})))
        except asyncpg.PostgresError as exc:  # wrong password, no such database ...
            raise StoreLayoutError(
                f"PostgreSQL refused the connection ({type(exc).__name__}); check the "
                "postgres: section's dsn"
            ) from None

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        with unavailable_as(AuditUnavailable, _UNREACHABLE):
            return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    async def _with_db(self, job: Any) -> Any:
        async with self.pool.acquire() as db:
            return await job(db)

    def search(self, query: AuditQuery) -> list[Entry]:
        found: list[Entry] = self.run(self._with_db(lambda db: pg_log.search(db, query)))
        return found

    def find_request(self, request_id: str) -> list[StoredEntry]:
        found: list[StoredEntry] = self.run(
            self._with_db(lambda db: pg_log.find_request(db, request_id))
        )
        return found

    @contextlib.contextmanager
    def snapshot(self, resume: dict[str, Any] | None = None) -> Iterator[LogSnapshot]:
        context = pg_log.snapshot(self.pool, resume)
        snapshot = self.run(context.__aenter__())
        try:
            yield snapshot
        except BaseException as exc:
            self.run(context.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        self.run(context.__aexit__(None, None, None))

    def inclusion_proof(self, request_id: str) -> dict[str, Any]:
        proof: dict[str, Any] = self.run(
            self._with_db(lambda db: pg_log.inclusion_proof(db, request_id))
        )
        return proof

    def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        proof: dict[str, Any] = self.run(
            self._with_db(lambda db: pg_log.consistency_proof(db, first, second))
        )
        return proof

    def writers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.run(self._with_db(pg_log.writers))
        return found

    def close(self) -> None:
        with contextlib.suppress(AuditUnavailable):
            self.run(self.pool.close())
        self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
