"""A versioned SQL migration runner.

Migrations are files `NNNN_name.sql` in `tools/sql/`, applied in order, each in its own
transaction (unless its first line is `-- migrate: no-transaction`, for statements such
as TimescaleDB continuous aggregates that refuse to run in one), recorded in
`schema_migrations` with a checksum so an edited migration is caught instead of silently
diverging. A session advisory lock lets several processes start at once without applying
anything twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).with_name("sql")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x5EC7A_0001  # arbitrary, fixed: one advisory lock for all migrators


class MigrationError(Exception):
    """A migration file is malformed, was edited after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith("-- migrate: no-transaction")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = SQL_DIR) -> list[Migration]:
    """Every migration in the directory, ordered by version; rejects gaps in naming."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return found


def migrate(conn: psycopg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    migrations = discover() if migrations is None else migrations
    conn.autocommit = True
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        done = {
            row[0]: row[1]
            for row in conn.execute("SELECT version, checksum FROM schema_migrations")
        }
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was changed "
                        "after it was applied; add a new migration instead"
                    )
                continue
            _apply(conn, migration)
            applied.append(f"{migration.version:04d}_{migration.name}")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    record = (
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
        (migration.version, migration.name, migration.checksum),
    )
    try:
        if migration.transactional:
            with conn.transaction():
                conn.execute(migration.sql)
                conn.execute(*record)
        else:
            conn.execute(migration.sql)
            conn.execute(*record)
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed: {exc}"
        ) from exc


def applied_versions(conn: psycopg.Connection) -> list[int]:
    rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    return [r[0] for r in rows]
