"""Opening the database: SQLite in WAL mode under the data folder, or a URL (PostgreSQL).

SQLite runs with `journal_mode=WAL` (readers never wait for the writer) and
`synchronous=FULL` (a transaction is on disk when its commit returns, so an acknowledged
write survives a crash or a `kill -9`), foreign keys on and a busy timeout for concurrent
writers.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from masklet.serve.storage.migrations import migrate

SQLITE_FILE = "masklet.db"
BUSY_TIMEOUT_MS = 30_000


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def open_database(url: str) -> Engine:
    """An engine on `url` with the schema created or upgraded to the newest version."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    migrate(engine)
    return engine
