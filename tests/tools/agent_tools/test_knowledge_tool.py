"""The knowledge-search tool over Qdrant's local mode and the bundled MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from tools.agent_tools import ToolError, build_tools
from tools.agent_tools.knowledge_tool import KnowledgeSearchTool
from tools.knowledge import KnowledgeBase


def call(tool, **kwargs):
    return json.loads(tool(**kwargs))


@pytest.fixture(scope="module")
def small_kb(minilm, tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("agent-kb")
    client = QdrantClient(path=str(root / "qdrant"))
    kb = KnowledgeBase(client, minilm)
    kb.ingest_text(
        "# Sidebets\nA sidebet wins when the round rugs within 40 ticks of placement; "
        "it pays 5x.\n# Rug\nEach tick the round rugs with probability 0.005.",
        "rugs_protocol",
        source="rules.md",
    )
    kb.ingest_text(
        "# Observation\nThe bot observes 15 features: tick, price, running peak, volatility.",
        "rl_design",
        source="env.md",
    )
    yield kb
    client.close()


def test_knowledge_search_returns_citable_chunks(small_kb):
    tool = KnowledgeSearchTool(small_kb)
    result = call(tool, query="how long is the sidebet window?", top_k=2)
    best = result["chunks"][0]
    assert best["id"] == "rugs_protocol:rules.md#0" and "40 ticks" in best["text"]
    assert best["heading"] == "Sidebets" and result["fallback"] is False
    only_rl = call(tool, query="what does the bot observe", collections=["rl_design"])
    assert {c["collection"] for c in only_rl["chunks"]} == {"rl_design"}
    assert "15 features" in only_rl["chunks"][0]["text"]


def test_knowledge_search_input_errors(small_kb):
    tool = KnowledgeSearchTool(small_kb)
    with pytest.raises(ToolError, match="collections must be a list drawn from"):
        tool(query="x", collections=["secrets"])
    with pytest.raises(ToolError, match="top_k must be in"):
        tool(query="x", top_k=11)
    with pytest.raises(ToolError, match="non-empty"):
        tool(query="  ")


def test_build_tools_adds_the_knowledge_tool(small_kb, seeded_db):
    tools = build_tools(database=seeded_db, knowledge=small_kb, publisher=None)
    assert tools[-1].name == "knowledge_search"
    tools[-1].validate_arguments()
