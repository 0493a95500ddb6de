"""Game modes declared in PostgreSQL (`modes`, migration 0065), shared by every process.

`import --mode NEW --base MODE` stores the new mode's rules (the base's, renamed);
`StoredModes` is the lookup `game.rules.set_mode_lookup` takes, so a web or job worker
started before the import learns the mode on its first request for it. Lookups of names
that are not modes are remembered for a moment (MISS_TTL_S): a client sending random
names costs one query per name and second, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from psycopg.types.json import Jsonb

from game.rules import GameRules, ModeEntry, ModeError, is_known_mode, load_mode, mode_entry
from tools.errors import BackendUnavailable
from tools.postgres import Database

log = logging.getLogger(__name__)
MISS_TTL_S = 1.0
ORIGIN = "modes table"

_INSERT_SQL = """
INSERT INTO modes (name, base, description, rules) VALUES (%s, %s, %s, %s)
ON CONFLICT (name) DO NOTHING
"""
_SELECT_SQL = "SELECT name, base, rules FROM modes"


def _entry(name: str, base: str, rules: dict) -> ModeEntry:
    return ModeEntry(name, "db", ORIGIN, base, GameRules.model_validate(rules))


def find_mode(conn: psycopg.Connection, name: str) -> ModeEntry | None:
    row = conn.execute(_SELECT_SQL + " WHERE name = %s", (name,)).fetchone()
    return _entry(*row) if row else None


def stored_modes(conn: psycopg.Connection) -> list[ModeEntry]:
    return [_entry(*row) for row in conn.execute(_SELECT_SQL + " ORDER BY name")]


def declare_stored_mode(conn: psycopg.Connection, name: str, base: str) -> tuple[ModeEntry, bool]:
    """Store mode `name` with the rules of the known mode `base`; (entry, created now).
    Declaring it again with the same base is a no-op; a name already taken otherwise (a
    packaged or directory mode, or a stored one with another base) raises ModeError."""
    base_rules = load_mode(base)
    stored = find_mode(conn, name)
    if stored is None and is_known_mode(name):
        known = mode_entry(name)
        raise ModeError(f"mode {name!r} already exists ({known.source}: {known.origin})")
    if stored is not None:
        if stored.base != base:
            raise ModeError(f"mode {name!r} is already stored with base {stored.base!r}")
        return stored, False
    description = f"Declared by import; rules of {base}."
    rules = base_rules.model_copy(update={"name": name, "description": description})
    conn.execute(_INSERT_SQL, (name, base, description, Jsonb(rules.model_dump(mode="json"))))
    conn.commit()
    stored = find_mode(conn, name)
    assert stored is not None  # inserted, or inserted a moment ago by another import
    if stored.base != base:
        raise ModeError(f"mode {name!r} is already stored with base {stored.base!r}")
    return stored, True


class StoredModes:
    """The `game.rules` lookup over the service's database (see the module doc)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._misses: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> ModeEntry | None:
        now = time.monotonic()
        with self._lock:
            if now - self._misses.get(name, float("-inf")) < MISS_TTL_S:
                return None
        try:
            with self._db.connection() as conn:
                entry = find_mode(conn, name)
        except (BackendUnavailable, psycopg.Error) as exc:
            # the name is refused as unknown now; asked again once the database answers
            log.warning("declared modes unreadable", extra={"mode": name, "error": str(exc)})
            entry = None
        if entry is None:
            with self._lock:
                if len(self._misses) > 10_000:
                    self._misses.clear()
                self._misses[name] = now
        return entry

    def all(self) -> list[ModeEntry]:
        with self._db.connection() as conn:
            return stored_modes(conn)
