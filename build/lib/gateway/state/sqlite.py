"""The state store in a SQLite file: survives restarts, shared by processes on one host.

Every statement runs on one dedicated thread (the event loop never blocks on disk, and
the connection stays single-threaded, as sqlite3 wants). Calls are serialized on that
thread, and each check-and-write runs in one ``BEGIN IMMEDIATE`` transaction, so it is
atomic against concurrent calls in this process and against other processes using the
same file. Time comes from the injected clock, read on the event loop and passed in.
Any SQLite or OS error becomes ``StateUnavailable``: the caller fails closed or open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from gateway.state.store import Clock, Reservation, WindowUsage, retry_after
from schemas.errors import StateUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_windows (
    key    TEXT NOT NULL,
    token  TEXT NOT NULL PRIMARY KEY,
    amount TEXT NOT NULL,
    at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS state_windows_key_at ON state_windows (key, at);
CREATE TABLE IF NOT EXISTS state_records (
    key     TEXT NOT NULL PRIMARY KEY,
    value   BLOB NOT NULL,
    expires REAL NOT NULL
);
"""


class SqliteStateStore:
    def __init__(self, path: Path, clock: Clock = time.time) -> None:
        self._path = path
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-sqlite")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._db = await self._run(self._connect)

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except (sqlite3.Error, OSError, RuntimeError) as exc:  # RuntimeError: executor shut down
            raise StateUnavailable(
                f"The gateway's state store cannot be used ({exc}); writes are refused "
                "until it is back. Retry in a few seconds."
            ) from exc

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> Callable[[], T]:
        def run() -> T:
            db = self._db
            if db is None:
                raise sqlite3.OperationalError("state store is not open")
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return run

    async def reserve(
        self, key: str, amount: Decimal, limit: Decimal, window_s: float
    ) -> tuple[Reservation | None, WindowUsage]:
        now = self._clock()

        def work(db: sqlite3.Connection) -> tuple[Reservation | None, WindowUsage]:
            db.execute("DELETE FROM state_windows WHERE key = ? AND at <= ?", (key, now - window_s))
            rows = db.execute(
                "SELECT amount, at FROM state_windows WHERE key = ? ORDER BY at", (key,)
            ).fetchall()
            entries = [(Decimal(a), float(at)) for a, at in rows]
            used = sum((a for a, _ in entries), Decimal(0))
            if used + amount > limit:
                wait = retry_after(entries, used, amount, limit, window_s, now)
                return None, WindowUsage(used, limit, wait)
            token = uuid.uuid4().hex
            db.execute(
                "INSERT INTO state_windows (key, token, amount, at) VALUES (?, ?, ?, ?)",
                (key, token, str(amount), now),
            )
            return Reservation(key, token, amount, now), WindowUsage(used + amount, limit, 0.0)

        return await self._run(self._transaction(work))

    async def release(self, reservation: Reservation) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM state_windows WHERE token = ?", (reservation.token,))

        await self._run(self._transaction(work))

    async def usage(self, key: str, window_s: float) -> Decimal:
        horizon = self._clock() - window_s

        def work(db: sqlite3.Connection) -> Decimal:
            rows = db.execute(
                "SELECT amount FROM state_windows WHERE key = ? AND at > ?", (key, horizon)
            ).fetchall()
            return sum((Decimal(a) for (a,) in rows), Decimal(0))

        return await self._run(self._transaction(work))

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        now = self._clock()

        def work(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT value FROM state_records WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            if row is not None:
                return bytes(row[0])
            db.execute(
                "INSERT OR REPLACE INTO state_records (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + ttl_s),
            )
            return None

        return await self._run(self._transaction(work))

    async def get(self, key: str) -> bytes | None:
        now = self._clock()

        def work(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "SELECT value FROM state_records WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            return bytes(row[0]) if row is not None else None

        return await self._run(self._transaction(work))

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        expires = self._clock() + ttl_s

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO state_records (key, value, expires) VALUES (?, ?, ?)",
                (key, value, expires),
            )

        await self._run(self._transaction(work))

    async def delete(self, key: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM state_records WHERE key = ?", (key,))

        await self._run(self._transaction(work))
