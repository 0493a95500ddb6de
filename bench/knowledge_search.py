"""Knowledge-search latency over >= 10,000 chunks in Qdrant's local mode.

Embedding 10,000 chunks with MiniLM on 2 CPU cores takes minutes, so the corpus is built
in two parts (both are stored and searched like any other chunk):
  1. real chunks, embedded by the model: the starter knowledge base plus --real
     synthesized notes (varied sentences about rounds, sidebets, players, training);
  2. perturbed copies of those vectors (gaussian noise, renormalized) with their own
     payloads, up to --chunks in total, spread over the four collections.
Then --queries questions are timed with `KnowledgeBase.search` (query embedding
included), with `search_vector` (embedding excluded), against the local mirror (the
numpy fallback used when a Qdrant server is down), and, for comparison, with Qdrant local
mode's own `query_points` (which `KnowledgeBase` does not use for ranking in local mode:
see tools/knowledge.py). Floor: p95 <= 30 ms.

    python bench/knowledge_search.py [--chunks 10000] [--real 600] [--queries 300]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.embeddings import LocalMiniLM
from tools.knowledge import COLLECTIONS, KnowledgeBase, point_id
from tools.knowledge_base import seed

TOPICS = [
    ("sidebet", "a sidebet placed at tick {t} won {x} times its stake"),
    ("rug", "round {g} rugged at tick {t} after a peak of {p}x"),
    ("player", "player {u} bought {a} SOL at {p}x and sold at tick {t}"),
    ("training", "PPO run {g} reached a mean reward of {r} after {n} steps"),
    ("volatility", "volatility over 10 ticks was {r} when the price crossed {p}x"),
    ("leverage", "a {l}x leveraged position was liquidated at a drawdown of {d} percent"),
    ("protocol", "gameStateUpdate carried tickCount {t} and {n} connected players"),
    ("strategy", "selling half at {p}x and the rest at tick {t} returned {r} SOL"),
]
QUESTIONS = [
    "how long is the sidebet window",
    "what is the rug probability per tick",
    "which features are in the observation space",
    "how are liquidations triggered with leverage",
    "what does gameStateUpdate contain",
    "when should the bot place a sidebet",
    "what reward does a winning sidebet get",
    "how does the price move on a big move",
    "which player sold at the peak",
    "what learning rate does PPO use",
]


def synthesize(n: int, rng: random.Random) -> list[str]:
    notes = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(2, 6)):
            _, template = rng.choice(TOPICS)
            sentences.append(
                template.format(
                    t=rng.randint(1, 900),
                    x=rng.choice([4, 5, 6]),
                    g=f"{i:05d}",
                    p=round(rng.uniform(1, 40), 2),
                    u=f"player{rng.randint(1, 500)}",
                    a=round(rng.uniform(0.01, 2), 3),
                    r=round(rng.uniform(-2, 5), 2),
                    n=rng.randint(10, 500_000),
                    l=rng.randint(2, 5),
                    d=rng.choice([20, 10, 2.5, 1]),
                )
            )
        notes.append(". ".join(sentences).capitalize() + ".")
    return notes


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p99 {p99:6.2f} ms  (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--real", type=int, default=600, help="synthesized notes to embed")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--noise", type=float, default=0.02, help="per-dimension noise sigma")
    args = parser.parse_args()
    rng = random.Random(7)
    nprng = np.random.default_rng(7)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        client = QdrantClient(path=str(root / "qdrant"))
        embedder = LocalMiniLM()
        kb = KnowledgeBase(client, embedder, mirror_dir=root / "mirror")

        started = time.perf_counter()
        embedder.load()
        print(f"model load: {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        seeded = sum(r.chunks for r in seed(kb))
        notes = synthesize(args.real, rng)
        for i in range(0, len(notes), 50):
            kb.ingest_text(
                "\n\n".join(f"# Note {j}\n{n}" for j, n in enumerate(notes[i : i + 50], i)),
                "agent_insights",
                source=f"notes/{i // 50:03d}.md",
            )
        real = seeded + len(notes)
        elapsed = time.perf_counter() - started
        print(
            f"real chunks embedded and stored: {real} in {elapsed:.1f} s ({real / elapsed:.0f}/s)"
        )

        # the real vectors and payloads, read back, are the templates of the copies
        templates: list[tuple[list[float], dict]] = []
        for name in COLLECTIONS:
            records, _ = client.scroll(name, limit=100_000, with_payload=True, with_vectors=True)
            templates += [(r.vector, r.payload) for r in records]
        started = time.perf_counter()
        copies = max(0, args.chunks - real)
        per_source = 500
        for start in range(0, copies, per_source):
            n = min(per_source, copies - start)
            picks = [templates[rng.randrange(len(templates))] for _ in range(n)]
            base = np.array([v for v, _ in picks], dtype=np.float32)
            vectors = base + nprng.normal(0, args.noise, base.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            collection = COLLECTIONS[(start // per_source) % len(COLLECTIONS)]
            source = f"perturbed/{start // per_source:04d}"
            ids = [point_id(collection, source, i) for i in range(n)]
            payloads = [
                {**p, "source": source, "chunk_index": i, "kind": "perturbed"}
                for i, (_, p) in enumerate(picks)
            ]
            for b in range(0, n, 256):
                client.upsert(
                    collection,
                    points=models.Batch(
                        ids=ids[b : b + 256],
                        vectors=vectors[b : b + 256].tolist(),
                        payloads=payloads[b : b + 256],
                    ),
                )
            kb.mirror.write(collection, source, ids, vectors, payloads)
        total = sum(client.count(c).count for c in COLLECTIONS)
        print(
            f"perturbed copies stored: {copies} in {time.perf_counter() - started:.1f} s; "
            f"total chunks {total}: "
            + ", ".join(f"{c} {client.count(c).count}" for c in COLLECTIONS)
        )

        queries = [
            f"{rng.choice(QUESTIONS)} {rng.choice(['', 'in rugs.fun', 'for the bot', 'today'])}"
            for _ in range(args.queries)
        ]
        for q in queries[:5]:  # warm-up
            kb.search(q)
        gc_pauses: list[float] = []
        gc_started: list[float] = []

        def gc_timer(phase: str, info: dict) -> None:
            if phase == "start":
                gc_started.append(time.perf_counter())
            elif gc_started:
                gc_pauses.append(time.perf_counter() - gc_started.pop())

        gc.callbacks.append(gc_timer)
        timed_from = time.perf_counter()

        with_embedding, embedding, vector_only, single, mirror = [], [], [], [], []
        vectors = []
        for q in queries:
            t0 = time.perf_counter()
            kb.search(q, top_k=5)
            with_embedding.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            vectors.append(embedder.embed([q])[0])
            embedding.append(time.perf_counter() - t0)
        for v in vectors:
            t0 = time.perf_counter()
            kb.search_vector(v, top_k=5)
            vector_only.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            kb.search_vector(v, ["rugs_protocol"], top_k=5)
            single.append(time.perf_counter() - t0)
        for v in vectors:
            t0 = time.perf_counter()
            [kb.mirror.search(c, v, 5) for c in COLLECTIONS]
            mirror.append(time.perf_counter() - t0)
        qdrant_own = []
        for v in vectors[:100]:
            t0 = time.perf_counter()
            [client.query_points(c, query=v.tolist(), limit=5) for c in COLLECTIONS]
            qdrant_own.append(time.perf_counter() - t0)

        gc.callbacks.remove(gc_timer)
        print(
            f"timed phase {time.perf_counter() - timed_from:.1f} s, of which garbage collection "
            f"{sum(gc_pauses):.2f} s ({len(gc_pauses)} runs, longest "
            f"{max(gc_pauses, default=0) * 1000:.1f} ms); load average {os.getloadavg()[0]:.1f}"
        )
        print(f"search, all collections, embedding included: {percentiles(with_embedding)}")
        print(f"query embedding alone:                       {percentiles(embedding)}")
        print(f"search, all collections, vector given:       {percentiles(vector_only)}")
        print(f"search, one collection, vector given:        {percentiles(single)}")
        print(f"mirror fallback (numpy), all collections:    {percentiles(mirror)}")
        print(f"qdrant local's own query_points, all colls:  {percentiles(qdrant_own)}")
        p95 = float(np.percentile(with_embedding, 95) * 1000)
        verdict = "meets" if p95 <= 30 else "MISSES"
        print(f"floor p95 <= 30 ms (embedding included): {verdict} ({p95:.2f} ms)")
        client.close()


if __name__ == "__main__":
    main()
