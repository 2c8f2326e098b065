"""Opening the database: SQLite in WAL mode under the data folder, or a URL (PostgreSQL).

How each database is set up (pragmas, pooling, 64-bit ids, locks) is in `dialects.py`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from masklet.serve.storage.dialects import BUSY_TIMEOUT_MS, migration_lock, new_engine
from masklet.serve.storage.migrations import migrate

SQLITE_FILE = "masklet.db"
__all__ = ["BUSY_TIMEOUT_MS", "SQLITE_FILE", "open_database", "sqlite_url"]


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / SQLITE_FILE}"


def open_database(url: str) -> Engine:
    """An engine on `url` with the schema created or upgraded to the newest version."""
    engine = new_engine(url)
    try:
        with migration_lock(engine):
            migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
