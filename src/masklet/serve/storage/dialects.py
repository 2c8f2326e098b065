"""Everything that differs between SQLite and PostgreSQL, in one place.

- URLs: `postgresql://` and `postgres://` mean psycopg 3 (the `postgres` extra), not
  SQLAlchemy's default psycopg2.
- Engines: SQLite runs with `journal_mode=WAL` (readers never wait for the writer) and
  `synchronous=FULL` (a transaction is on disk when its commit returns, so an acknowledged
  write survives a crash or a `kill -9`), foreign keys on and a busy timeout for concurrent
  writers. PostgreSQL is durable at commit by default; its pooled connections are checked
  before use (a restarted database server does not fail the next request).
- Ids: 64-bit. SQLite's `INTEGER PRIMARY KEY` already is (and must stay spelled INTEGER to be
  the rowid); PostgreSQL's INTEGER is 32-bit, so ids and the columns that refer to them are
  BIGINT there.
- Locks: PostgreSQL has row locks, SQLite one write lock for the whole database.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Table,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url

BUSY_TIMEOUT_MS = 30_000

# a 64-bit integer primary key (or a reference to one) on every database
Id = BigInteger().with_variant(Integer(), "sqlite")

# pg_advisory_lock key held while a server creates or upgrades the schema
_MIGRATION_LOCK = zlib.crc32(b"masklet serve: schema migration")


def database_url(url: str) -> URL:
    """`url` parsed, with PostgreSQL's plain schemes meaning psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown_url(url: str) -> str:
    """`url` with its password hidden, for messages."""
    try:
        return database_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: say nothing of it
        return "(unreadable URL)"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def new_engine(url: str) -> Engine:
    """An engine on `url`, set up for its database (no schema yet)."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Only one server at a time creates or upgrades the schema of a PostgreSQL database
    (servers started together on an empty one would both create it). An SQLite database
    belongs to the one server of its data folder."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        lock.commit()
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            lock.commit()


def lock_row(db: Connection, table: Table, row_id: int) -> None:
    """Make the writers of one row's children (e.g. a media's new objects) wait for each other
    until the transaction ends. PostgreSQL locks that row (FOR NO KEY UPDATE: rows that merely
    refer to it, such as masks being stored, do not wait); SQLite has no row locks, so a write
    that changes nothing takes the database's write lock now, before the transaction reads."""
    key = table.c.id == row_id
    if db.dialect.name == "postgresql":
        db.execute(select(table.c.id).where(key).with_for_update(key_share=True))
    else:
        db.execute(update(table).where(key).values(id=table.c.id))
