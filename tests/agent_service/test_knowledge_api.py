"""POST /v1/knowledge/search against Qdrant's local mode, and the mirror when a server is down."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.tcp_proxy import free_port
from tools.embeddings import LocalMiniLM
from tools.knowledge import KnowledgeBase
from tools.knowledge_base import starter_documents

URL = "/v1/knowledge/search"


def test_search_finds_starter_documents_and_honours_options(app, client, auth):
    kb = app.extensions["agent"].backends.knowledge()
    for collection, path in starter_documents():  # two of them keep the test fast
        if path.name in ("sidebets.md", "sidebet-v1-env.md"):
            kb.ingest(path, collection, source=f"{collection}/{path.name}")
    answer = client.post(URL, json={"query": "How long is the sidebet window?"}, headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["fallback"] is False and body["fallback_reason"] is None
    assert len(body["chunks"]) == 5
    top = body["chunks"][0]
    assert (top["collection"], top["source"]) == ("rugs_protocol", "rugs_protocol/sidebets.md")
    assert "40 ticks" in top["text"] and set(top) == {
        "score",
        "collection",
        "source",
        "heading",
        "text",
        "chunk_index",
        "mode",
    }
    assert top["mode"] is None  # ingested directly, not labelled as seeding does

    narrowed = client.post(
        URL,
        json={
            "query": "observation space features",
            "collections": ["rl_design"],
            "top_k": 2,
            "filter": {"source": "rl_design/sidebet-v1-env.md"},
        },
        headers=auth,
    ).get_json()
    assert len(narrowed["chunks"]) == 2
    assert {c["source"] for c in narrowed["chunks"]} == {"rl_design/sidebet-v1-env.md"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "x" * 1001}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "rug", "filter": {"chunk_index": "first"}}, "filter.chunk_index"),
        ({"query": "rug", "collections": ["recipes"]}, "collections.0"),
        ({"query": "rug", "collections": []}, "collections"),
        ({"query": "rug", "top_k": 0}, "top_k"),
        ({"query": "rug", "top_k": 51}, "top_k"),
        ({"query": "rug", "filter": {"source": ["a"]}}, "filter.source"),
        ({"query": "rug", "filter": {"password": "x"}}, "filter.password"),
        ({"query": "rug", "limit": 3}, "limit"),
    ],
)
def test_invalid_requests_get_422_naming_the_field(client, auth, body, field):
    answer = client.post(URL, json=body, headers=auth)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    problem = answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert field in [e["field"] for e in problem["errors"]]


def test_search_needs_a_key_and_is_listed_in_info(client, auth):
    assert client.post(URL, json={"query": "rug"}).status_code == 401
    info = client.get("/v1/info", headers=auth).get_json()
    assert "knowledge_search" in info["capabilities"]


def test_unreachable_server_is_answered_from_the_mirror(tmp_path: Path, pg_dsn: str, auth):
    mirror = tmp_path / "mirror"
    local = QdrantClient(path=str(tmp_path / "ingest-qdrant"))
    KnowledgeBase(local, LocalMiniLM(), mirror_dir=mirror).ingest_text(
        "# Sidebets\nA sidebet covers a window of 40 ticks from the tick it is placed.\n"
        "# Leverage\nLeverage goes from 1x to 5x.",
        "rugs_protocol",
        source="notes.md",
    )
    local.close()
    down = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        tmp_path, pg_dsn, qdrant_url=down, knowledge_mirror_dir=mirror, check_timeout_s=1
    )
    application = create_app(settings)
    try:
        client = application.test_client()
        answer = client.post(URL, json={"query": "sidebet window length"}, headers=auth)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert body["fallback"] is True and "qdrant is unavailable" in body["fallback_reason"]
        assert body["chunks"][0]["heading"] == "Sidebets"
        assert body["chunks"][0]["source"] == "notes.md"

        empty = make_settings(
            tmp_path, pg_dsn, qdrant_url=down, knowledge_mirror_dir=tmp_path / "none"
        )
        other = create_app(empty)
        try:
            refused = other.test_client().post(URL, json={"query": "rug"}, headers=auth)
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            assert "no local copy" in refused.get_json()["detail"]
        finally:
            other.extensions["agent"].backends.close()
    finally:
        application.extensions["agent"].backends.close()


def test_inference_backend_from_settings_serves_the_endpoint(tmp_path: Path, pg_dsn: str, auth):
    from tests.tools.test_embeddings import FakeFeatureExtraction

    with FakeFeatureExtraction(LocalMiniLM()) as server:
        settings = make_settings(
            tmp_path, pg_dsn, embedding_backend="inference", embedding_url=server.url + "/embed"
        )
        application = create_app(settings)
        try:
            kb = application.extensions["agent"].backends.knowledge()
            kb.ingest_text(
                "# Leverage\nLeverage goes from 1x to 5x.\n# Sidebets\nA window of 40 ticks.",
                "rugs_protocol",
                source="notes.md",
            )
            answer = application.test_client().post(
                URL, json={"query": "how much leverage can I use?", "top_k": 1}, headers=auth
            )
            assert answer.get_json()["chunks"][0]["heading"] == "Leverage"
            assert len(server.requests) == 2  # one batch at ingest, one query
        finally:
            application.extensions["agent"].backends.close()
