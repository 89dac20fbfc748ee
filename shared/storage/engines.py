"""Database engine and session helpers: SQLite embedded, PostgreSQL by URL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

#: A 64-bit autoincrement id (SQLite's rowid alias is INTEGER only).
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


def async_url(url: str) -> str:
    """Map plain URLs to the async drivers we ship (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, immediate: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine; ``immediate`` makes SQLite transactions take the write lock at BEGIN.

    Use it for read-then-write transactions shared by several processes: a
    deferred SQLite transaction that upgrades to a writer after another
    process committed fails at once with "database is locked", while an
    immediate one waits its turn (``busy_timeout``).
    """
    url = async_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if immediate:
            event.listen(engine.sync_engine, "connect", _no_implicit_begin)
            event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


def sync_url(url: str) -> str:
    """Map plain URLs to the synchronous drivers (sqlite3, psycopg 3)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver.startswith("sqlite"):
        parsed = parsed.set(drivername="sqlite+pysqlite")
    elif driver.startswith(("postgres", "postgresql")):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``None``: another engine, or an in-memory database)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_sync_engine(
    url: str, *, immediate: bool = False, busy_ms: int = 30_000, **kwargs: Any
) -> Engine:
    """A synchronous engine, for hot paths that run a whole transaction in one worker thread.

    A transaction of a dozen statements on the async engine costs a dozen
    event-loop round trips, each waiting behind whatever else the loop does;
    in a thread it is one.
    """
    url = sync_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if busy_ms != 30_000:
            event.listen(engine, "connect", _busy_timeout(busy_ms))
        if immediate:
            event.listen(engine, "connect", _no_implicit_begin)
            event.listen(engine, "begin", _begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable in WAL mode
    # against process crashes (only an OS crash can lose the last commits).
    cursor = dbapi_conn.cursor()
    # Asked first: switching modes waits for every other writer, even to WAL from WAL.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _busy_timeout(ms: int) -> Any:
    def set_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(ms)}")

    return set_timeout


def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


#: What a service's writes and reads are given: sessions on one of its engines.
Sessions = async_sessionmaker[AsyncSession]


def session_factory(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def driver_sql(dialect: Dialect, sql: str) -> str:
    """Rewrite ``?`` placeholders for the driver's paramstyle (hot paths use driver SQL)."""
    style = dialect.paramstyle
    if style == "qmark":
        return sql
    parts = sql.split("?")
    if style == "numeric_dollar":
        return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))
    if style in ("format", "pyformat"):
        return "%s".join(parts)
    raise ValueError(f"unsupported paramstyle {style}")
