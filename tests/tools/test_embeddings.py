"""Embedders: the bundled MiniLM offline, and the inference backend against a local server
that speaks the feature-extraction protocol with vectors computed by that same model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tools.embeddings import (
    MINILM_DIM,
    Embedder,
    InferenceEmbedder,
    LocalMiniLM,
    build_embedder,
    normalized,
)
from tools.errors import BackendUnavailable


class FakeFeatureExtraction:
    """POST {"inputs": str | [str], ...} -> [[float]]: TEI's /embed and HF's contract."""

    def __init__(self, model: LocalMiniLM, *, dim: int = MINILM_DIM, status: int = 200) -> None:
        self.requests: list[tuple[str, dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, dict(self.headers), body))
                inputs = body["inputs"]
                texts = [inputs] if isinstance(inputs, str) else inputs
                vectors = model.embed(texts)[:, :dim] if status == 200 else None
                payload = json.dumps(
                    vectors.tolist() if vectors is not None else {"error": "overloaded"}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeFeatureExtraction:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_server(minilm: LocalMiniLM) -> Iterator[FakeFeatureExtraction]:
    with FakeFeatureExtraction(minilm) as server:
        yield server


def test_local_minilm_gives_unit_float32_rows_that_rank_by_meaning(minilm: LocalMiniLM):
    assert isinstance(minilm, Embedder)
    vectors = minilm.embed(
        ["the sidebet window is 40 ticks", "a sidebet lasts forty ticks", "PPO learning rate 3e-4"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert minilm.embed([]).shape == (0, 384)


def test_local_minilm_is_loaded_once_and_safe_across_threads(minilm: LocalMiniLM):
    other = LocalMiniLM()
    assert other._encoder() is minilm._encoder()
    expected = minilm.embed(["rug probability per tick"])
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(other.embed(["rug probability per tick"])))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.allclose(r, expected, atol=1e-5) for r in results)


def test_inference_embedder_speaks_the_feature_extraction_protocol(
    minilm: LocalMiniLM, fake_server: FakeFeatureExtraction
):
    embedder = InferenceEmbedder(fake_server.url + "/embed", token="tei-token", batch_size=2)
    texts = ["sidebet window", "rug probability", "observation space", "PPO", "leverage"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    assert np.allclose(vectors, minilm.embed(texts), atol=1e-4)
    assert [len(body["inputs"]) for _, _, body in fake_server.requests] == [2, 2, 1]
    path, headers, body = fake_server.requests[0]
    assert path == "/embed" and body["inputs"] == texts[:2]
    assert body["normalize"] is True and body["truncate"] is True
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer tei-token"


def test_inference_embedder_is_built_from_settings_values(fake_server: FakeFeatureExtraction):
    embedder = build_embedder("inference", url=fake_server.url, timeout=5)
    assert isinstance(embedder, InferenceEmbedder) and embedder.embed(["x"]).shape == (1, 384)
    assert isinstance(build_embedder("local"), LocalMiniLM)
    with pytest.raises(ValueError, match="unknown embedding backend"):
        build_embedder("word2vec")


def test_inference_embedder_reports_outages_and_wrong_shapes(minilm: LocalMiniLM):
    with (
        FakeFeatureExtraction(minilm, status=503) as server,
        pytest.raises(BackendUnavailable, match="embeddings"),
    ):
        InferenceEmbedder(server.url, timeout=5).embed(["x"])
    with (
        FakeFeatureExtraction(minilm, dim=100) as server,
        pytest.raises(BackendUnavailable, match=r"expected \(1, 384\)"),
    ):
        InferenceEmbedder(server.url, timeout=5).embed(["x"])
    with pytest.raises(BackendUnavailable, match="embeddings"):
        InferenceEmbedder("http://127.0.0.1:9", timeout=2).embed(["x"])


def test_normalized_leaves_zero_rows_alone():
    out = normalized(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32 and np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
