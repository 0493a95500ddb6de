"""Start-up work done once, in the process that starts the service (the gunicorn master,
the CLI), before any worker exists: start the embedded PostgreSQL when no DATABASE_URL
is set, apply migrations, make sure an API key exists.

Kept apart from `agent_service.wiring` so the gunicorn master imports only this
(psycopg and the migrations), not the backends' libraries: every worker forks from the
master, and whatever the master imported is counted again in each worker's RSS.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg

from agent_service.config import Settings
from tools.embedded_postgres import start_embedded_postgres
from tools.errors import BackendUnavailable
from tools.migrations import migrate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """What `prepare()` settled: the database to use and whether the key file is new."""

    settings: Settings
    database_url: str
    api_key_created: bool


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on first call)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded_postgres(settings.postgres_dir)


def ensure_api_key(path: Path) -> bool:
    """Create a random key file readable by its owner only; True when created now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return True


def api_keys(settings: Settings) -> tuple[str, ...]:
    """Keys from AGENT_API_KEYS, else the generated key file's (empty: nobody gets in)."""
    if settings.api_keys:
        return tuple(k.get_secret_value() for k in settings.api_keys)
    try:
        key = settings.api_key_file.read_text().strip()
    except OSError:
        return ()
    return (key,) if key else ()


def prepare(settings: Settings, *, run_migrations: bool = True) -> Prepared:
    """Start-up work done once, before any worker exists."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(settings)
    if run_migrations:
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                applied = migrate(conn)
        except psycopg.OperationalError as exc:
            raise BackendUnavailable("postgres", str(exc).splitlines()[0]) from exc
        if applied:
            log.info("migrations applied", extra={"migrations": applied})
    created = False if settings.api_keys else ensure_api_key(settings.api_key_file)
    return Prepared(settings=settings, database_url=url, api_key_created=created)
