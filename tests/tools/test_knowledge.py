"""The knowledge base on Qdrant's local mode: chunking, ids, re-ingest, search, fallback."""

from __future__ import annotations

import fcntl
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from tools.chunking import ChunkingConfig, chunk_text, markdown_sections
from tools.embeddings import LocalMiniLM
from tools.errors import BackendUnavailable, InvalidInput
from tools.knowledge import COLLECTIONS, KnowledgeBase, point_id
from tools.knowledge_base import is_empty, seed, seed_in_background, starter_documents
from tools.knowledge_mirror import KnowledgeMirror


@pytest.fixture
def kb(tmp_path: Path, minilm: LocalMiniLM) -> Iterator[KnowledgeBase]:
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    yield KnowledgeBase(
        client, minilm, chunking=ChunkingConfig(300, 60), mirror_dir=tmp_path / "mirror"
    )
    client.close()


def points(kb: KnowledgeBase, collection: str) -> dict[str, dict]:
    records, _ = kb.client.scroll(collection, limit=1000, with_payload=True)
    return {str(r.id): r.payload for r in records}


# -- chunking
def test_sections_keep_their_heading_path_and_ignore_fenced_hashes():
    text = "# Game\nintro\n## Sidebets\nwindow\n```\n# not a heading\n```\n### Payout\n5x\n# API\nx"
    assert markdown_sections(text) == [
        ("Game", "intro"),
        ("Game > Sidebets", "window\n```\n# not a heading\n```"),
        ("Game > Sidebets > Payout", "5x"),
        ("API", "x"),
    ]


def test_long_sections_are_cut_with_overlap_and_bounded_size():
    sentences = [f"Fact {i} is about tick {i * 7}." for i in range(120)]
    chunks = chunk_text("# Long\n" + " ".join(sentences), ChunkingConfig(300, 60))
    assert len(chunks) > 5 and [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.heading == "Long" and len(c.text) <= 300 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert after.text[:20] in before.text  # the overlap repeats the previous tail
    joined = " ".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)  # nothing lost


def test_plain_text_and_bad_configs():
    chunks = chunk_text("para one\n\npara two", ChunkingConfig(), markdown=False)
    assert [(c.heading, c.text) for c in chunks] == [("", "para one\n\npara two")]
    with pytest.raises(ValueError, match="overlap"):
        ChunkingConfig(300, 200)
    with pytest.raises(ValueError, match="at least 100"):
        ChunkingConfig(50, 0)


def test_point_ids_are_deterministic_and_distinct():
    assert point_id("rl_design", "a.md", 0) == point_id("rl_design", "a.md", 0)
    ids = {point_id(c, s, i) for c in COLLECTIONS for s in ("a.md", "b.md") for i in range(3)}
    assert len(ids) == len(COLLECTIONS) * 2 * 3


# -- ingest
def test_reingesting_a_changed_file_replaces_its_chunks(kb: KnowledgeBase, tmp_path: Path):
    doc = tmp_path / "notes.md"
    doc.write_text("# A\n" + "alpha " * 120 + "\n# B\nbravo\n# C\ncharlie\n")
    first = kb.ingest(doc, "rl_design")
    assert not first.unchanged and first.chunks >= 4
    assert {h.heading for h in kb.search("charlie", ["rl_design"], top_k=10)} == {"A", "B", "C"}
    stored = points(kb, "rl_design")
    assert set(stored) == {point_id("rl_design", "notes.md", i) for i in range(first.chunks)}
    assert {p["heading"] for p in stored.values()} == {"A", "B", "C"}

    assert kb.ingest(doc, "rl_design").unchanged  # same content: nothing re-embedded
    assert points(kb, "rl_design") == stored

    doc.write_text("# B\nbravo, revised\n")
    second = kb.ingest(doc, "rl_design")
    assert (second.chunks, second.removed) == (1, first.chunks - 1)
    after = points(kb, "rl_design")
    assert [p["text"] for p in after.values()] == ["bravo, revised"]
    assert [h.text for h in kb.search("alpha", ["rl_design"], top_k=10)] == ["bravo, revised"]
    hits = KnowledgeMirror(tmp_path / "mirror").search("rl_design", np.ones(384), 10)
    assert [h.payload["text"] for h in hits] == ["bravo, revised"]  # the mirror follows


def test_sources_are_independent_and_validated(kb: KnowledgeBase, tmp_path: Path):
    kb.ingest_text("# X\nshared words", "external_docs", source="one.md")
    kb.ingest_text("# X\nshared words", "external_docs", source="two.md")
    kb.ingest_text("# X\nnew", "external_docs", source="one.md")
    assert kb.count("external_docs") == 2
    assert kb.count("external_docs", {"source": "two.md"}) == 1
    with pytest.raises(InvalidInput) as exc:
        kb.ingest_text("x", "recipes", source="r.md")
    assert exc.value.errors[0].field == "collection"
    with pytest.raises(InvalidInput):
        kb.ingest_text("x", "agent_insights", source="r.md", extra={"secret": "x"})
    (tmp_path / "data.csv").write_text("a,b")
    with pytest.raises(InvalidInput, match="not a Markdown or text file"):
        kb.ingest(tmp_path / "data.csv", "external_docs")


# -- search
@pytest.mark.parametrize(
    ("question", "source", "heading"),
    [
        ("How many ticks does the sidebet window last?", "rugs_protocol/sidebets.md", "window"),
        ("What is the probability of a rug on each tick?", "rugs_protocol/rounds-and-rug.md", ""),
        (
            "What does the bot's observation space contain?",
            "rl_design/sidebet-v1-env.md",
            "Observation space",
        ),
    ],
)
def test_search_finds_the_starter_document_for_each_question(
    seeded_kb: KnowledgeBase, question: str, source: str, heading: str
):
    hits = seeded_kb.search(question, top_k=3)
    assert hits[0].source == source and heading in hits[0].heading
    assert hits[0].collection == source.split("/")[0] and not hits[0].fallback
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_local_search_ranks_like_qdrant_itself(seeded_kb: KnowledgeBase, minilm: LocalMiniLM):
    question = "what happens to open positions at the rug?"
    ours = seeded_kb.search(question, ["rugs_protocol"], top_k=5)
    theirs = seeded_kb.client.query_points(
        "rugs_protocol", query=minilm.embed([question])[0].tolist(), limit=5, with_payload=True
    ).points
    assert [(c.source, c.chunk_index) for c in ours] == [
        (p.payload["source"], p.payload["chunk_index"]) for p in theirs
    ]
    assert np.allclose([c.score for c in ours], [p.score for p in theirs], atol=1e-5)


def test_search_filters_and_restricts_collections(seeded_kb: KnowledgeBase):
    hits = seeded_kb.search("sidebet", ["rl_design"], top_k=5)
    assert hits and {h.collection for h in hits} == {"rl_design"}
    only = seeded_kb.search("sidebet", top_k=5, filter={"source": "rl_design/sidebet-v1-env.md"})
    assert only and {h.source for h in only} == {"rl_design/sidebet-v1-env.md"}
    assert seeded_kb.search("sidebet", filter={"source": "nowhere.md"}) == []


def test_search_rejects_bad_arguments_naming_the_field(seeded_kb: KnowledgeBase):
    cases = [
        ({"collections": ["recipes"]}, "collections"),
        ({"filter": {"password": "x"}}, "filter.password"),
        ({"filter": {"source": ["a", "b"]}}, "filter.source"),
        ({"top_k": 0}, "top_k"),
        ({"query": "  "}, "query"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as exc:
            seeded_kb.search(**{"query": "rug", **kwargs})
        assert exc.value.errors[0].field == field


# -- fallback when the server is down
def test_search_falls_back_to_the_mirror_when_the_server_is_unreachable(
    seeded_kb: KnowledgeBase, minilm: LocalMiniLM, tmp_path: Path
):
    from tests.support.tcp_proxy import free_port

    down = QdrantClient(url=f"http://127.0.0.1:{free_port()}", timeout=1, check_compatibility=False)
    kb = KnowledgeBase(down, minilm, mirror_dir=seeded_kb.mirror.root)
    assert not kb.local
    result = kb.search_result("How many ticks does the sidebet window last?", top_k=3)
    assert result.fallback and "qdrant is unavailable" in result.fallback_reason
    assert result.chunks[0].source == "rugs_protocol/sidebets.md"
    assert all(c.fallback and c.fallback_reason == result.fallback_reason for c in result.chunks)
    # the same ranking as Qdrant's, scores equal up to float rounding
    direct = seeded_kb.search("How many ticks does the sidebet window last?", top_k=3)
    assert [c.source for c in direct] == [c.source for c in result.chunks]
    assert np.allclose([c.score for c in direct], [c.score for c in result.chunks], atol=1e-4)
    filtered = kb.search("sidebet", filter={"source": "rl_design/sidebet-v1-env.md"})
    assert filtered and {c.source for c in filtered} == {"rl_design/sidebet-v1-env.md"}

    without_copy = KnowledgeBase(down, minilm, mirror_dir=tmp_path / "empty")
    with pytest.raises(BackendUnavailable, match="no local copy"):
        without_copy.search("sidebet")
    with pytest.raises(BackendUnavailable, match="qdrant"):
        kb.ingest_text("# x\ny", "agent_insights", source="x.md")
    down.close()


# -- starter knowledge base
def test_starter_documents_cover_the_three_collections():
    collections = {c for c, _ in starter_documents()}
    assert collections == {"rugs_protocol", "rl_design", "external_docs"}


def test_seeding_again_stores_nothing_twice(seeded_kb: KnowledgeBase):
    before = {c: seeded_kb.count(c) for c in COLLECTIONS}
    reports = seed(seeded_kb)
    assert all(r.unchanged for r in reports)
    assert {c: seeded_kb.count(c) for c in COLLECTIONS} == before
    assert sum(before.values()) == sum(r.chunks for r in reports)


def test_start_up_seed_filled_the_empty_collections(seeded_kb: KnowledgeBase):
    counts = {c: seeded_kb.count(c) for c in COLLECTIONS}
    assert min(counts["rugs_protocol"], counts["rl_design"], counts["external_docs"]) > 0
    assert counts["agent_insights"] == 0


def test_start_up_seed_skips_a_non_empty_base_and_a_held_lock(kb: KnowledgeBase, tmp_path: Path):
    lock = tmp_path / "seed.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another worker is seeding
        seed_in_background(lambda: kb, lock).join(timeout=60)
    assert is_empty(kb)
    kb.ingest_text("# finding\nnew", "agent_insights", source="finding.md")
    seed_in_background(lambda: kb, lock).join(timeout=60)
    assert {c: kb.count(c) for c in COLLECTIONS} == {
        "external_docs": 0,
        "rugs_protocol": 0,
        "rl_design": 0,
        "agent_insights": 1,
    }
