"""A local copy of the knowledge base's vectors, searched with numpy when Qdrant is down.

Written at ingest time next to the Qdrant upsert: one `.npz` file per (collection,
source) holding the point ids, the vectors and the payloads as JSON, replaced
atomically when the source is ingested again. Search reads every file of a collection
(cached until a file changes) and ranks by dot product, which equals Qdrant's cosine
score because the vectors are unit length.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Hit:
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class VectorIndex:
    """Unit vectors and their payloads, ranked by dot product (= cosine) with numpy."""

    vectors: np.ndarray
    payloads: list[dict[str, Any]]

    def search(
        self, vector: np.ndarray, top_k: int, where: Mapping[str, object] | None = None
    ) -> list[Hit]:
        if not self.payloads:
            return []
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        if where:
            keep = np.fromiter(
                (all(p.get(k) == v for k, v in where.items()) for p in self.payloads),
                dtype=bool,
                count=len(self.payloads),
            )
            scores = np.where(keep, scores, -np.inf)
        k = min(top_k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [Hit(float(scores[i]), self.payloads[i]) for i in best if np.isfinite(scores[i])]


@dataclass(frozen=True)
class _Loaded:
    signature: tuple[tuple[str, int, int], ...]
    index: VectorIndex


class KnowledgeMirror:
    """Per-collection folders of per-source `.npz` files under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def _file(self, collection: str, source: str) -> Path:
        digest = hashlib.sha256(source.encode()).hexdigest()[:32]
        return self.root / collection / f"{digest}.npz"

    def has(self, collection: str, source: str) -> bool:
        return self._file(collection, source).is_file()

    def write(
        self,
        collection: str,
        source: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        payloads: Sequence[Mapping[str, Any]],
    ) -> None:
        """Replace the source's copy (atomically: a reader sees the old or the new one)."""
        target = self._file(collection, source)
        if not ids:
            target.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(
                    handle,
                    ids=np.array(list(ids)),
                    vectors=np.asarray(vectors, dtype=np.float32),
                    payloads=np.array(json.dumps(list(payloads))),
                )
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def count(self, collection: str) -> int:
        return len(self._load(collection).index.payloads)

    def search(
        self,
        collection: str,
        vector: np.ndarray,
        top_k: int,
        where: Mapping[str, object] | None = None,
    ) -> list[Hit]:
        return self._load(collection).index.search(vector, top_k, where)

    def _load(self, collection: str) -> _Loaded:
        folder = self.root / collection
        stats = []
        for f in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):  # removed since the listing
                stats.append((f, f.stat()))
        files = [f for f, _ in stats]
        signature = tuple((f.name, st.st_mtime_ns, st.st_size) for f, st in stats)
        with self._lock:
            cached = self._cache.get(collection)
            if cached is not None and cached.signature == signature:
                return cached
        vectors: list[np.ndarray] = []
        payloads: list[dict[str, Any]] = []
        for f in files:
            with contextlib.suppress(FileNotFoundError), np.load(f, allow_pickle=False) as data:
                vectors.append(data["vectors"])
                payloads.extend(json.loads(str(data["payloads"])))
        stacked = np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        loaded = _Loaded(signature, VectorIndex(stacked, payloads))
        with self._lock:
            self._cache[collection] = loaded
        return loaded
