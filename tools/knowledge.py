"""The knowledge base: Markdown and text chunked, embedded and searched in Qdrant.

Four collections (384-dim cosine, as on the bot's server): `external_docs`,
`rugs_protocol`, `rl_design` and `agent_insights` (the service's own findings). A
chunk's id is derived from its collection, source and position, and ingesting a source
again upserts its new chunks, then deletes the ones it no longer has: nothing is
duplicated and a search never finds the source missing. An unchanged source is skipped.

Every ingest also writes a local mirror (given a mirror folder); when a Qdrant server
(QDRANT_URL) stops answering, search ranks the mirror instead and says so (`fallback`).
Qdrant's local mode is in-process, so it cannot be "down"; its client is not
thread-safe, so calls on it are serialized here. Its brute-force search re-normalizes
every stored vector on every query (about 65 ms over 10,000 chunks on 2 busy cores), so
in local mode, where this process is the only one that can write the folder, search
ranks an in-memory copy of each collection read back from Qdrant (the same cosine
scores) and rebuilt after this knowledge base writes to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tools.chunking import ChunkingConfig, chunk_text
from tools.embeddings import Embedder
from tools.errors import BackendUnavailable, FieldError, InvalidInput
from tools.knowledge_collections import COLLECTIONS, TEXT_SUFFIXES
from tools.knowledge_mirror import KnowledgeMirror, VectorIndex

# Payload keys a search may filter on, with their value types; extra payload given at
# ingest uses the last three.
FILTER_KEYS: dict[str, type] = {
    "source": str,
    "heading": str,
    "kind": str,
    "chunk_index": int,
    "topic": str,
    "mode": str,
    "tag": str,
}
EXTRA_KEYS = frozenset({"topic", "mode", "tag"})
MAX_TOP_K = 50
_ID_NAMESPACE = uuid.UUID("6f1b8a0e-9a53-4c1e-8f0e-3d0c2b7a4e11")
_UPSERT_BATCH = 64


@dataclass(frozen=True)
class Chunk:
    """One search hit; `fallback` marks hits ranked from the local mirror."""

    score: float
    collection: str
    source: str
    heading: str
    text: str
    chunk_index: int
    fallback: bool = False
    fallback_reason: str | None = None
    mode: str | None = None  # the game mode whose rules the document was written for


@dataclass(frozen=True)
class SearchResult:
    chunks: list[Chunk]
    fallback: bool = False
    fallback_reason: str | None = None


@dataclass(frozen=True)
class IngestReport:
    collection: str
    source: str
    chunks: int
    removed: int
    unchanged: bool


def point_id(collection: str, source: str, index: int) -> str:
    """The deterministic id of a source's `index`-th chunk in a collection."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{collection}\x1f{source}\x1f{index}"))


def _match(key: str, value: object) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def validate_collections(names: Sequence[str] | None, field: str = "collections") -> list[str]:
    if names is None:
        return list(COLLECTIONS)
    unknown = [n for n in names if n not in COLLECTIONS]
    if unknown or not names:
        detail = f"unknown collection(s) {unknown}" if unknown else "no collection given"
        raise InvalidInput(
            detail, [FieldError(field, f"{detail}; known: {', '.join(COLLECTIONS)}")]
        )
    return list(dict.fromkeys(names))


def validate_filter(where: Mapping[str, Any] | None) -> dict[str, str | int]:
    """A payload filter: allow-listed keys, each matched to one value of the key's type."""
    clean: dict[str, str | int] = {}
    errors: list[FieldError] = []
    for key, value in (where or {}).items():
        expected = FILTER_KEYS.get(key)
        if expected is None:
            errors.append(
                FieldError(f"filter.{key}", f"not a filterable key; use {sorted(FILTER_KEYS)}")
            )
        elif not isinstance(value, expected) or isinstance(value, bool):
            errors.append(FieldError(f"filter.{key}", f"expected a {expected.__name__}"))
        else:
            clean[key] = value
    if errors:
        raise InvalidInput("the search filter is invalid", errors)
    return clean


class KnowledgeBase:
    """Ingest and search over a Qdrant client (server or local mode) and an embedder."""

    def __init__(
        self,
        client: QdrantClient,
        embedder: Embedder,
        *,
        chunking: ChunkingConfig | None = None,
        mirror_dir: Path | None = None,
        server_retry_s: float = 5.0,
        client_lock: threading.RLock | None = None,
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.chunking = chunking or ChunkingConfig()
        self.mirror = KnowledgeMirror(mirror_dir) if mirror_dir is not None else None
        options = client.init_options
        self.local = bool(options.get("path")) or options.get("location") == ":memory:"
        # Qdrant's local mode is not thread-safe: every user of the client shares one lock
        self._client_lock = client_lock or threading.RLock()
        self._indexes: dict[str, VectorIndex] = {}
        self._ready = False
        self._server_retry_s = server_retry_s
        self._down_until = 0.0
        self._down_reason = ""

    @contextlib.contextmanager
    def _qdrant(self) -> Iterator[QdrantClient]:
        """The client, serialized in local mode; server outages become BackendUnavailable."""
        lock = self._client_lock if self.local else contextlib.nullcontext()
        try:
            with lock:
                yield self.client
        except (ResponseHandlingException, httpx.TransportError, OSError) as exc:
            raise BackendUnavailable("qdrant", _reason(exc)) from exc
        except UnexpectedResponse as exc:
            if exc.status_code is not None and exc.status_code >= 500:
                raise BackendUnavailable("qdrant", _reason(exc)) from exc
            raise

    # -- collections
    def ensure_collections(self) -> None:
        """Create the missing collections; refuse one whose vector size is not ours."""
        if self._ready:
            return
        with self._qdrant() as client:
            for name in COLLECTIONS:
                if not client.collection_exists(name):
                    client.create_collection(
                        name,
                        vectors_config=models.VectorParams(
                            size=self.embedder.dim, distance=models.Distance.COSINE
                        ),
                    )
                    if not self.local:
                        for key in ("source", "kind", "topic", "mode", "tag"):
                            client.create_payload_index(name, key, models.PayloadSchemaType.KEYWORD)
                    continue
                params = client.get_collection(name).config.params.vectors
                size = params.size if isinstance(params, models.VectorParams) else None
                if size != self.embedder.dim:
                    raise BackendUnavailable(
                        "qdrant",
                        f"collection {name!r} holds {size}-dim vectors but the embedder "
                        f"{self.embedder.name} makes {self.embedder.dim}-dim ones",
                    )
        self._ready = True

    def count(self, collection: str, where: Mapping[str, object] | None = None) -> int:
        self.ensure_collections()
        flt = models.Filter(must=[_match(k, v) for k, v in where.items()]) if where else None
        with self._qdrant() as client:
            return client.count(collection, count_filter=flt, exact=True).count

    # -- ingest
    def ingest(self, path: Path, collection: str, *, source: str | None = None) -> IngestReport:
        """Ingest one Markdown or text file (`source` defaults to the file's name)."""
        markdown = TEXT_SUFFIXES.get(path.suffix.lower())
        if markdown is None:
            raise InvalidInput(
                f"{path}: not a Markdown or text file",
                [FieldError("path", f"expected one of {sorted(TEXT_SUFFIXES)}")],
            )
        text = path.read_text(encoding="utf-8")
        return self.ingest_text(text, collection, source=source or path.name, markdown=markdown)

    def ingest_text(
        self,
        text: str,
        collection: str,
        *,
        source: str,
        markdown: bool = True,
        extra: Mapping[str, str | int | bool] | None = None,
    ) -> IngestReport:
        """Store `text` as `source` in `collection`, replacing what that source had."""
        validate_collections([collection], field="collection")
        extra = dict(extra or {})
        bad = sorted(set(extra) - EXTRA_KEYS)
        if bad:
            raise InvalidInput(
                "extra payload keys are not allowed",
                [FieldError(f"extra.{k}", f"use one of {sorted(EXTRA_KEYS)}") for k in bad],
            )
        self.ensure_collections()
        chunks = chunk_text(text, self.chunking, markdown=markdown)
        digest = hashlib.sha256(
            "\x1f".join(
                [text, repr(self.chunking), self.embedder.name, repr(sorted(extra.items()))]
            ).encode()
        ).hexdigest()
        if chunks and self._unchanged(collection, source, digest, len(chunks)):
            return IngestReport(collection, source, len(chunks), 0, unchanged=True)

        ids = [point_id(collection, source, c.index) for c in chunks]
        vectors = self.embedder.embed([c.embedding_input() for c in chunks])
        payloads = [
            {
                "source": source,
                "heading": c.heading,
                "text": c.text,
                "chunk_index": c.index,
                "chunk_count": len(chunks),
                "kind": "markdown" if markdown else "text",
                "sha256": digest,
                **extra,
            }
            for c in chunks
        ]
        with self._qdrant() as client:
            for start in range(0, len(ids), _UPSERT_BATCH):
                stop = start + _UPSERT_BATCH
                client.upsert(
                    collection,
                    points=models.Batch(
                        ids=ids[start:stop],
                        vectors=vectors[start:stop].tolist(),
                        payloads=payloads[start:stop],
                    ),
                    wait=True,
                )
            stale = models.Filter(
                must=[_match("source", source)],
                must_not=[models.HasIdCondition(has_id=ids)] if ids else None,
            )
            removed = client.count(collection, count_filter=stale, exact=True).count
            if removed:
                client.delete(collection, points_selector=models.FilterSelector(filter=stale))
            self._indexes.pop(collection, None)
        if self.mirror is not None:
            self.mirror.write(collection, source, ids, vectors, payloads)
        return IngestReport(collection, source, len(chunks), removed, unchanged=False)

    def _unchanged(self, collection: str, source: str, digest: str, n: int) -> bool:
        if self.mirror is not None and not self.mirror.has(collection, source):
            return False
        same = self.count(collection, {"source": source, "sha256": digest})
        return same == n and self.count(collection, {"source": source}) == n

    # -- search
    def search(
        self,
        query: str,
        collections: Sequence[str] | None = None,
        top_k: int = 5,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """The `top_k` chunks closest to `query` over `collections` (default: all)."""
        return self.search_result(query, collections, top_k, filter).chunks

    def search_result(
        self,
        query: str,
        collections: Sequence[str] | None = None,
        top_k: int = 5,
        filter: Mapping[str, Any] | None = None,
    ) -> SearchResult:
        """Like `search`, and says whether the hits came from the local mirror and why."""
        if not query.strip():
            raise InvalidInput("the query is empty", [FieldError("query", "must not be blank")])
        names = validate_collections(collections)
        where = validate_filter(filter)
        _check_top_k(top_k)
        return self.search_vector(self.embedder.embed([query])[0], names, top_k, where)

    def search_vector(
        self,
        vector: np.ndarray,
        collections: Sequence[str] | None = None,
        top_k: int = 5,
        filter: Mapping[str, Any] | None = None,
    ) -> SearchResult:
        """Search with a query vector already embedded (by this KB's embedder)."""
        names = validate_collections(collections)
        where = validate_filter(filter)
        _check_top_k(top_k)
        if not self.local and time.monotonic() < self._down_until:
            return self._from_mirror(names, vector, top_k, where, self._down_reason)
        try:
            self.ensure_collections()
            chunks = self._from_qdrant(names, vector, top_k, where)
        except BackendUnavailable as exc:
            if self.local:
                raise
            self._down_until = time.monotonic() + self._server_retry_s
            self._down_reason = exc.detail
            return self._from_mirror(names, vector, top_k, where, exc.detail)
        return SearchResult(chunks)

    def _from_qdrant(
        self, names: list[str], vector: np.ndarray, top_k: int, where: dict[str, str | int]
    ) -> list[Chunk]:
        if self.local:
            return _best(
                [
                    _chunk(name, hit.score, hit.payload)
                    for name in names
                    for hit in self._local_index(name).search(vector, top_k, where)
                ],
                top_k,
            )
        flt = models.Filter(must=[_match(k, v) for k, v in where.items()]) if where else None
        query = vector.tolist()
        chunks: list[Chunk] = []
        with self._qdrant() as client:
            for name in names:
                points = client.query_points(
                    name, query=query, limit=top_k, query_filter=flt, with_payload=True
                ).points
                chunks += [_chunk(name, p.score, p.payload or {}) for p in points]
        return _best(chunks, top_k)

    def _local_index(self, name: str) -> VectorIndex:
        """The collection's vectors and payloads as read from Qdrant's local mode."""
        with self._client_lock:
            index = self._indexes.get(name)
            if index is None:
                vectors: list[list[float]] = []
                payloads: list[dict[str, Any]] = []
                offset = None
                while True:
                    records, offset = self.client.scroll(
                        name, limit=1024, offset=offset, with_payload=True, with_vectors=True
                    )
                    vectors += [r.vector for r in records]  # type: ignore[misc]
                    payloads += [r.payload or {} for r in records]
                    if offset is None:
                        break
                matrix = np.array(vectors, dtype=np.float32).reshape(
                    len(vectors), self.embedder.dim
                )
                index = self._indexes[name] = VectorIndex(matrix, payloads)
            return index

    def _from_mirror(
        self,
        names: list[str],
        vector: np.ndarray,
        top_k: int,
        where: dict[str, str | int],
        reason: str,
    ) -> SearchResult:
        held = sum(self.mirror.count(n) for n in names) if self.mirror is not None else 0
        if not held:
            raise BackendUnavailable("qdrant", f"{reason}; and no local copy of these collections")
        why = f"{reason}; answered from the local copy written at ingest time"
        chunks = [
            _chunk(n, hit.score, hit.payload, why)
            for n in names
            for hit in self.mirror.search(n, vector, top_k, where)  # type: ignore[union-attr]
        ]
        return SearchResult(_best(chunks, top_k), fallback=True, fallback_reason=why)


def _chunk(
    collection: str, score: float, payload: Mapping[str, Any], why: str | None = None
) -> Chunk:
    return Chunk(
        score=round(float(score), 6),
        collection=collection,
        source=str(payload.get("source", "")),
        heading=str(payload.get("heading", "")),
        text=str(payload.get("text", "")),
        chunk_index=int(payload.get("chunk_index", 0)),
        fallback=why is not None,
        fallback_reason=why,
        mode=str(payload["mode"]) if payload.get("mode") else None,
    )


def _check_top_k(top_k: int) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidInput(
            "top_k is out of range", [FieldError("top_k", f"expected 1..{MAX_TOP_K}")]
        )


def _best(chunks: list[Chunk], top_k: int) -> list[Chunk]:
    return sorted(chunks, key=lambda c: c.score, reverse=True)[:top_k]


def _reason(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    text = str(exc).strip() or type(exc).__name__
    if inner is not None and str(inner) and str(inner) not in text:
        text = f"{text} ({inner})"
    return text.splitlines()[0][:300]
