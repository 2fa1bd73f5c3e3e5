"""The legacy database: SQLite (embedded default) or PostgreSQL, with a modelled round trip.

The latency model adds `rtt_ms` of waiting to every statement and every commit the legacy
jobs send, because the original job ran against a database across a network (RDS) while
the rehearsal runs against a local one. Synchronous engines wait inside SQLAlchemy's
cursor and commit events; asyncio code awaits `wait()` so concurrent tasks overlap their
waits the way real network round trips would.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from harness.errors import DatabaseError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path.resolve()}"


def _driver_url(url: str, drivers: dict[str, str]) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {url!r} is not a valid URL",
            "use e.g. postgresql://user:pass@127.0.0.1:5432/db or sqlite:///path.db",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise DatabaseError(
            f"database {backend!r} is not supported for the legacy jobs",
            "use a sqlite:// or postgresql:// URL",
        )
    return parsed.set(drivername=drivers[backend]).render_as_string(hide_password=False)


class LegacyDatabase:
    """A legacy database for one run: engines, schema management and round-trip accounting."""

    def __init__(self, url: str, rtt_ms: float = 0.0) -> None:
        self.url = _driver_url(url, SYNC_DRIVERS)
        self.async_url = _driver_url(url, ASYNC_DRIVERS)
        self.rtt_s = rtt_ms / 1000.0
        self.round_trips = 0
        self._sleep_debt = 0.0
        self.engine = self._sync_engine()

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def _sync_engine(self) -> Engine:
        try:
            engine = create_engine(self.url)
        except NoSuchModuleError as exc:
            raise DatabaseError(f"no driver for {self.display_url}: {exc}", "pip install it") \
                from None

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(*_args: object) -> None:
            self._wait_sync()

        @event.listens_for(engine, "commit")
        def _commit(*_args: object) -> None:
            self._wait_sync()

        if self.backend == "sqlite":
            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
                dbapi_conn.execute("PRAGMA busy_timeout = 30000")

        return engine

    def _wait_sync(self) -> None:
        self.round_trips += 1
        if not self.rtt_s:
            return
        # time.sleep overshoots by a fraction of a millisecond, more on a busy machine;
        # carrying the difference into the next wait keeps the total modelled wait exact.
        want = self.rtt_s + self._sleep_debt
        slept = 0.0
        if want > 0:
            started = time.perf_counter()
            time.sleep(want)
            slept = time.perf_counter() - started
        self._sleep_debt = max(want - slept, -10 * self.rtt_s)

    async def wait(self) -> None:
        """One modelled round trip for asyncio code (counted; overlaps with other tasks)."""
        self.round_trips += 1
        if self.rtt_s:
            await asyncio.sleep(self.rtt_s)

    def async_engine(self, pool_size: int = 20) -> AsyncEngine:
        """A new asyncio engine on the same database; the caller disposes it in its loop.
        Its statements are not delayed by events: async code awaits `wait()` instead."""
        engine = create_async_engine(self.async_url, pool_size=pool_size)
        if self.backend == "sqlite":
            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA busy_timeout = 30000")
                cursor.close()
        return engine

    def check_reachable(self) -> None:
        """Connect once; raise DatabaseError naming the URL and the remedy when that fails."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(
                f"cannot reach the legacy database {self.display_url}: {reason}",
                "start the server or fix --db-url (omit it to use the embedded SQLite)",
            ) from None

    def recreate(self, metadata: MetaData) -> None:
        """Drop and create the workload's tables, so every run starts from the same state."""
        self.check_reachable()
        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)
        if self.backend == "sqlite":
            # WAL lets the async variant's readers work while its writer commits.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.round_trips = 0

    def dispose(self) -> None:
        self.engine.dispose()
