"""Backends built from settings, in one place.

`prepare()` (in `agent_service.startup`, re-exported here) runs once in the process that
starts the service. `Backends` is built inside each worker after the fork; its pools and
clients open lazily on first use.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from qdrant_client import QdrantClient

from agent_service.config import Settings
from agent_service.jobs import build_job_service
from agent_service.startup import Prepared, api_keys, database_url, ensure_api_key, prepare
from capabilities.chat.intents import OUTSIDE as CHAT_OUTSIDE
from capabilities.chat.intents import REGISTRY as CHAT_INTENTS
from capabilities.chat.router import IntentRouter
from capabilities.engines.game_models.registry import ModelRegistry
from capabilities.engines.jobs import JobService
from capabilities.engines.jobs.context import set_knowledge_factory
from capabilities.hybrid.advice import AdviceCache
from capabilities.hybrid.log import DecisionLog
from game.rules import available_modes, clear_mode_lookup, set_mode_lookup, use_modes_dir
from tools.agent_tools.sql_guard import TOOL as SQL_TOOL
from tools.agent_tools.sql_session import SqlLogin
from tools.chunking import ChunkingConfig
from tools.embeddings import Embedder, LocalMiniLM, build_embedder
from tools.errors import BackendUnavailable
from tools.knowledge import KnowledgeBase
from tools.modes_store import StoredModes
from tools.postgres import Database
from tools.publisher import EventPublisher
from tools.qdrant_store import open_qdrant

log = logging.getLogger(__name__)
__all__ = ["Backends", "Prepared", "api_keys", "database_url", "ensure_api_key", "prepare"]


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


def install_modes(settings: Settings, database: Database) -> StoredModes:
    """Declare the modes of AGENT_MODES_DIR in this process and look any other name up
    among the modes stored in the database (docs/modes.md)."""
    if settings.modes_dir is not None:
        use_modes_dir(settings.modes_dir)
    stored = StoredModes(database)
    set_mode_lookup(stored)
    return stored


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
        self.modes = install_modes(self.settings, self.database)
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
        self._chat_router: IntentRouter | None = None
        self._agent_tools: list[Any] | None = None
        self._chat_lock = threading.Lock()

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

    def chat_router(self) -> IntentRouter:
        """The chat's intent router over the service's own MiniLM (loaded on first use,
        or by the warm-up)."""
        with self._chat_lock:
            if self._chat_router is None:
                self._chat_router = IntentRouter(LocalMiniLM(), CHAT_INTENTS, outside=CHAT_OUTSIDE)
            return self._chat_router

    def sql_login(self) -> SqlLogin:
        """The SQL tool's login: AGENT_SQL_DATABASE_URL, else agent_sql beside the service."""
        url = self.settings.sql_database_url
        if url is not None:
            return SqlLogin(url.get_secret_value(), connect_timeout=self.settings.check_timeout_s)
        return SqlLogin.beside(self.database.dsn, connect_timeout=self.settings.check_timeout_s)

    def agent_tools(self, *, sql: bool = True) -> list[Any]:
        """The agents' shared tools (smolagents: built on first use, with a model
        configured): the named analytics queries, knowledge search (when Qdrant opens)
        and, with `sql`, the guarded SQL tool. No tool that publishes or writes."""
        with self._chat_lock:
            if self._agent_tools is None:
                from tools.agent_tools import build_tools

                try:
                    knowledge: KnowledgeBase | None = self.knowledge()
                except BackendUnavailable:
                    knowledge = None
                self._agent_tools = build_tools(
                    database=self.database,
                    knowledge=knowledge,
                    publisher=None,
                    sql_login=self.sql_login(),
                    modes=available_modes(),
                )
            tools = self._agent_tools
        return [t for t in tools if sql or t.name != SQL_TOOL]

    def evidence_tools(self, with_model: bool) -> list[Any]:
        """What the capabilities' agents may call for more evidence (analytics, knowledge
        search; no SQL): none without a model (smolagents is not loaded then)."""
        return self.agent_tools(sql=False) if with_model else []

    def close(self) -> None:
        clear_mode_lookup(self.modes)
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
