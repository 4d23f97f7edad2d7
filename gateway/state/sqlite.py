"""The state store in a SQLite file: survives restarts, shared by processes on one host.

Every statement runs on one dedicated thread (the event loop never blocks on disk, and
the connection stays single-threaded, as sqlite3 wants). Calls are serialized on that
thread, and each check-and-write runs in one ``BEGIN IMMEDIATE`` transaction, so it is
atomic against concurrent calls in this process and against other processes using the
same file. Time comes from the injected clock, read on the event loop and passed in. One row per
rate key (its GCRA TAT) and one per budget key (its current window's total).
Any SQLite or OS error becomes ``StateUnavailable``: the caller fails closed or open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from gateway.state import gcra
from gateway.state.store import (
    MICRO,
    BudgetCharge,
    BudgetHold,
    BudgetWindow,
    Clock,
    Rate,
    RateDecision,
)
from schemas.errors import StateUnavailable

T = TypeVar("T")
SWEEP_EVERY = 4096  # writes between removals of idle rates and ended budget windows

# state_windows held one row per call in a window (before rates and budgets became O(1))
_SCHEMA = """
DROP TABLE IF EXISTS state_windows;
CREATE TABLE IF NOT EXISTS state_rates (
    key TEXT NOT NULL PRIMARY KEY,
    tat INTEGER NOT NULL  -- GCRA's theoretical arrival time, microseconds
);
CREATE TABLE IF NOT EXISTS state_budgets (
    key     TEXT NOT NULL PRIMARY KEY,
    window_id TEXT NOT NULL,   -- the current window's id (its start)
    total   INTEGER NOT NULL,  -- micro-units charged in it
    ends_at REAL NOT NULL
);
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
        self._writes = 0

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        """Every ``SWEEP_EVERY`` writes, drop rows nobody needs: constant rows per live key."""
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            db.execute("DELETE FROM state_rates WHERE tat <= ?", (gcra.micros(now),))
            db.execute("DELETE FROM state_budgets WHERE ends_at <= ?", (now,))

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

    async def take(self, key: str, rate: Rate) -> RateDecision:
        now = gcra.micros(self._clock())

        def work(db: sqlite3.Connection) -> RateDecision:
            row = db.execute("SELECT tat FROM state_rates WHERE key = ?", (key,)).fetchone()
            new_tat, decision = gcra.take(row[0] if row else None, now, rate)
            if new_tat is not None:
                db.execute(
                    "INSERT OR REPLACE INTO state_rates (key, tat) VALUES (?, ?)", (key, new_tat)
                )
                self._sweep(db, now / MICRO)
            return decision

        return await self._run(self._transaction(work))

    async def take_all(self, quotas: Sequence[tuple[str, Rate]]) -> list[RateDecision]:
        now = gcra.micros(self._clock())

        def work(db: sqlite3.Connection) -> list[RateDecision]:
            taken: dict[str, int] = {}
            decisions = []
            for key, rate in quotas:
                if key in taken:
                    tat: int | None = taken[key]
                else:
                    row = db.execute("SELECT tat FROM state_rates WHERE key = ?", (key,)).fetchone()
                    tat = row[0] if row else None
                new_tat, decision = gcra.take(tat, now, rate)
                decisions.append(decision)
                if new_tat is None:
                    return decisions  # nothing written: none taken
                taken[key] = new_tat
            db.executemany(
                "INSERT OR REPLACE INTO state_rates (key, tat) VALUES (?, ?)", taken.items()
            )
            self._sweep(db, now / MICRO)
            return decisions

        return await self._run(self._transaction(work))

    async def headroom(self, key: str, rate: Rate) -> RateDecision:
        now = gcra.micros(self._clock())

        def work(db: sqlite3.Connection) -> RateDecision:
            row = db.execute("SELECT tat FROM state_rates WHERE key = ?", (key,)).fetchone()
            return gcra.headroom(row[0] if row else None, now, rate)

        return await self._run(self._transaction(work))

    async def give_back(self, key: str, rate: Rate) -> None:
        now = gcra.micros(self._clock())

        def work(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT tat FROM state_rates WHERE key = ?", (key,)).fetchone()
            tat = gcra.give_back(row[0] if row else None, now, rate)
            if tat is None:
                db.execute("DELETE FROM state_rates WHERE key = ?", (key,))
            else:
                db.execute("UPDATE state_rates SET tat = ? WHERE key = ?", (tat, key))

        await self._run(self._transaction(work))

    async def charge(
        self, key: str, window: BudgetWindow, amount: int, limit: int | None
    ) -> BudgetCharge:
        now = self._clock()

        def work(db: sqlite3.Connection) -> BudgetCharge:
            used = _used(db, key, window.id)
            if limit is not None and used + amount > limit:
                return BudgetCharge(None, used)
            db.execute(
                "INSERT OR REPLACE INTO state_budgets (key, window_id, total, ends_at) "
                "VALUES (?, ?, ?, ?)",
                (key, window.id, used + amount, window.ends_at),
            )
            self._sweep(db, now)
            return BudgetCharge(BudgetHold(key, window.id, amount), used)

        return await self._run(self._transaction(work))

    async def refund(self, hold: BudgetHold) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE state_budgets SET total = total - ? WHERE key = ? AND window_id = ?",
                (hold.amount, hold.key, hold.window),
            )

        await self._run(self._transaction(work))

    async def spent(self, key: str, window: BudgetWindow) -> int:
        return await self._run(self._transaction(lambda db: _used(db, key, window.id)))

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

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._clock()
        wanted = list(keys)

        def work(db: sqlite3.Connection) -> list[bytes | None]:
            marks = ", ".join("?" * len(wanted))
            rows = db.execute(
                f"SELECT key, value FROM state_records WHERE key IN ({marks}) AND expires > ?",  # noqa: S608 - placeholders only
                (*wanted, now),
            ).fetchall()
            found = {key: bytes(value) for key, value in rows}
            return [found.get(key) for key in wanted]

        if not wanted:
            return []
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


def _used(db: sqlite3.Connection, key: str, window: str) -> int:
    row = db.execute(
        "SELECT total FROM state_budgets WHERE key = ? AND window_id = ?", (key, window)
    ).fetchone()
    return int(row[0]) if row is not None else 0
