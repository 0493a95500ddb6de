"""Backends built from settings, in one place.

`prepare()` runs once in the process that starts the service (the gunicorn master, the
CLI): it starts the embedded PostgreSQL when no DATABASE_URL is set, applies migrations
and makes sure an API key exists. `Backends` is built inside each worker after the fork;
its pools and clients open lazily on first use.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import psycopg
from qdrant_client import QdrantClient

from agent_service.config import Settings
from agent_service.jobs import build_job_service
from capabilities.hybrid.advice import AdviceCache
from capabilities.hybrid.log import DecisionLog
from capabilities.jobs import JobService
from capabilities.jobs.context import set_knowledge_factory
from capabilities.models.registry import ModelRegistry
from tools.chunking import ChunkingConfig
from tools.embedded_postgres import start_embedded_postgres
from tools.embeddings import Embedder, build_embedder
from tools.errors import BackendUnavailable
from tools.knowledge import KnowledgeBase
from tools.migrations import migrate
from tools.postgres import Database
from tools.publisher import EventPublisher
from tools.qdrant_store import open_qdrant

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


def embedder_from(settings: Settings) -> Embedder:
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    return build_embedder(
        settings.embedding_backend,
        url=settings.embedding_url,
        model=settings.embedding_model,
        token=token,
        timeout=settings.embedding_timeout_s,
    )


def knowledge_base(
    settings: Settings,
    client: QdrantClient,
    embedder: Embedder,
    client_lock: threading.RLock | None = None,
) -> KnowledgeBase:
    """The knowledge base as configured, over a client opened by the caller's process."""
    return KnowledgeBase(
        client,
        embedder,
        chunking=ChunkingConfig(settings.knowledge_chunk_chars, settings.knowledge_chunk_overlap),
        mirror_dir=settings.knowledge_mirror_path,
        client_lock=client_lock,
    )


class Backends:
    """The per-process handles on PostgreSQL and Qdrant; AMQP connections are per use."""

    def __init__(self, prepared: Prepared) -> None:
        self.settings = prepared.settings
        self.database = Database(
            prepared.database_url,
            max_size=self.settings.db_pool_max,
            connect_timeout=self.settings.check_timeout_s,
        )
        self._qdrant: QdrantClient | None = None
        self._qdrant_lock = threading.Lock()
        self.qdrant_use_lock = threading.RLock()  # local mode's client is not thread-safe
        self._jobs: JobService | None = None
        self._jobs_lock = threading.Lock()
        self.models = ModelRegistry(
            self.database,
            min_rounds=self.settings.models_min_rounds,
            max_rounds=self.settings.models_max_rounds,
            refit_growth=self.settings.models_refit_growth,
            check_interval_s=self.settings.models_check_interval_s,
        )
        url = self.amqp_url
        # the service's own events (alerts, advice, decisions) on the agent.events exchange
        self.events = EventPublisher(url, self.settings.amqp_events_exchange) if url else None
        self.advice = AdviceCache(self.database)
        self.decisions = DecisionLog(
            self.database, self.events, flush_interval_s=self.settings.hybrid_log_flush_s
        )
        self._embedder: Embedder | None = None
        self._knowledge: KnowledgeBase | None = None
        self._knowledge_lock = threading.Lock()
        self._publisher: EventPublisher | None = None
        self._publisher_lock = threading.Lock()

    @property
    def amqp_url(self) -> str | None:
        url = self.settings.amqp_url
        return url.get_secret_value() if url else None

    def publisher(self) -> EventPublisher | None:
        """The service's event publisher on AGENT_AMQP_EVENTS_EXCHANGE, or None without
        AMQP_URL; it connects on its first publish."""
        url = self.amqp_url
        if url is None:
            return None
        with self._publisher_lock:
            if self._publisher is None:
                self._publisher = EventPublisher(
                    url, self.settings.amqp_events_exchange, timeout=self.settings.check_timeout_s
                )
            return self._publisher

    def qdrant(self) -> QdrantClient:
        with self._qdrant_lock:
            if self._qdrant is None:
                key = self.settings.qdrant_api_key
                try:
                    self._qdrant = open_qdrant(
                        url=self.settings.qdrant_url,
                        api_key=key.get_secret_value() if key else None,
                        path=self.settings.qdrant_path,
                        timeout=self.settings.check_timeout_s,
                    )
                except (RuntimeError, OSError) as exc:
                    raise BackendUnavailable("qdrant", str(exc)) from exc
            return self._qdrant

    def jobs(self) -> JobService:
        """The job service, built on first use (in-process mode starts its threads)."""
        with self._jobs_lock:
            if self._jobs is None:
                self._jobs = build_job_service(self.settings, self.database)
                # jobs run in this process's threads share its knowledge base
                set_knowledge_factory(self.knowledge)
            return self._jobs

    def embedder(self) -> Embedder:
        """The configured embedder (the local model itself loads on first use)."""
        with self._knowledge_lock:
            if self._embedder is None:
                self._embedder = embedder_from(self.settings)
            return self._embedder

    def knowledge(self) -> KnowledgeBase:
        client, embedder = self.qdrant(), self.embedder()
        with self._knowledge_lock:
            if self._knowledge is None:
                self._knowledge = knowledge_base(
                    self.settings, client, embedder, self.qdrant_use_lock
                )
            return self._knowledge

    def close(self) -> None:
        self.decisions.close()
        if self.events is not None:
            self.events.close()
        with self._jobs_lock:
            if self._jobs is not None:
                self._jobs.close()
                self._jobs = None
        self.database.close()
        with self._publisher_lock:
            if self._publisher is not None:
                self._publisher.close()
                self._publisher = None
        with self._qdrant_lock:
            if self._qdrant is not None:
                self._qdrant.close()
                self._qdrant = None
