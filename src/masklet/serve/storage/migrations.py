"""Schema versions and the ordered upgrades between them.

A new database is created at the newest schema (`schema.metadata`) and stamped with
`SCHEMA_VERSION`. An older one is brought forward by running, in order and each in its own
transaction, the upgrades numbered above its version. A database newer than this masklet,
or holding tables but no version, is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect, select, text

from masklet.errors import MaskletError
from masklet.serve.storage import schema


class SchemaError(MaskletError, RuntimeError):
    """The database cannot be used by this version of masklet."""


@dataclass(frozen=True)
class Upgrade:
    """Brings a database from `version - 1` to `version`."""

    version: int
    description: str
    apply: Callable[[Connection], None]


UPGRADES: list[Upgrade] = []

SCHEMA_VERSION = 1 + len(UPGRADES)


def stored_version(connection: Connection) -> int | None:
    """The database's schema version; None for an empty database."""
    tables = set(inspect(connection).get_table_names())
    if not tables:
        return None
    if "schema_version" not in tables:
        raise SchemaError(
            f"the database holds tables ({', '.join(sorted(tables))}) but no schema_version: "
            "it was not made by masklet serve; give another --data folder or --database-url"
        )
    version = connection.execute(select(schema.schema_version.c.version)).scalar()
    if version is None:
        raise SchemaError("the database's schema_version table is empty; restore it from a backup")
    return int(version)


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; returns the version the database is at now."""
    with engine.begin() as connection:
        version = stored_version(connection)
        if version is None:
            schema.metadata.create_all(connection)
            connection.execute(schema.schema_version.insert().values(version=SCHEMA_VERSION))
            return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the database is at schema version {version}, newer than this masklet's {SCHEMA_VERSION}; "
            "upgrade masklet to open it"
        )
    for upgrade in UPGRADES:
        if upgrade.version > version:
            with engine.begin() as connection:
                upgrade.apply(connection)
                connection.execute(schema.schema_version.update().values(version=upgrade.version))
            version = upgrade.version
    return version


def add_column(connection: Connection, table: str, column_ddl: str) -> None:
    """ALTER TABLE ... ADD COLUMN, written the same for SQLite and PostgreSQL."""
    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column_ddl}"))
