"""Qdrant client construction: a server by URL, or local mode in a folder.

Local mode locks its folder to one process, so the client must be created in the
process that uses it (a gunicorn worker), never before a fork.
"""

from __future__ import annotations

from pathlib import Path

from qdrant_client import QdrantClient


def open_qdrant(
    *, url: str | None, api_key: str | None, path: Path, timeout: float = 5.0
) -> QdrantClient:
    if url:
        # no version probe at construction: it blocks, and warns from a thread when down
        return QdrantClient(
            url=url, api_key=api_key, timeout=int(max(1, timeout)), check_compatibility=False
        )
    path.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(path))


def ping_qdrant(client: QdrantClient) -> int:
    """Number of collections; raises when the server does not answer."""
    return len(client.get_collections().collections)
