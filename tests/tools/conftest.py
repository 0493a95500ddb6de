"""Fixtures of the tools tests."""

from __future__ import annotations

import pytest
from qdrant_client import QdrantClient

from tools.embeddings import LocalMiniLM
from tools.knowledge import KnowledgeBase
from tools.knowledge_base import seed_in_background


@pytest.fixture(scope="session")
def minilm() -> LocalMiniLM:
    """The bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    model = LocalMiniLM()
    model.load()
    return model


@pytest.fixture(scope="session")
def seeded_kb(minilm: LocalMiniLM, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """A local-mode knowledge base holding the starter documents, seeded once the way the
    service does at start-up."""
    root = tmp_path_factory.mktemp("seeded-kb")
    kb = KnowledgeBase(QdrantClient(path=str(root / "qdrant")), minilm, mirror_dir=root / "mirror")
    seed_in_background(lambda: kb, root / "seed.lock").join(timeout=120)
    return kb
