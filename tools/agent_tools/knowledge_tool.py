"""Knowledge-base search for agents: chunks with a citable source id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smolagents import Tool

from tools.agent_tools.base import ToolError, check_int, to_json
from tools.errors import InvalidInput

if TYPE_CHECKING:
    from tools.knowledge import Chunk, KnowledgeBase

COLLECTIONS = ("external_docs", "rugs_protocol", "rl_design", "agent_insights")
MAX_QUERY_CHARS = 500
MAX_TOP_K = 10
CHUNK_CHARS = 1200  # a whole chunk at the default chunk size, with room for its heading


class KnowledgeSearchTool(Tool):
    name = "knowledge_search"
    description = (
        "Semantic search of the knowledge base. Collections: rugs_protocol (the game's "
        "rules, protocol events and fields), rl_design (the bot's RL environment, "
        "observations, rewards, training), external_docs (third-party documentation), "
        "agent_insights (this service's own earlier findings). Returns JSON "
        '{"chunks": [{"id", "collection", "source", "heading", "score", "text"}], '
        '"fallback": bool}; cite a chunk by its id (collection:source#index). Higher score '
        "is closer (cosine, 0-1); a low best score means the base has no good answer."
    )
    inputs = {
        "query": {"type": "string", "description": "A question or keywords (<= 500 chars)."},
        "collections": {
            "type": "array",
            "items": {"type": "string", "enum": list(COLLECTIONS)},
            "description": "Collections to search; omit for all.",
            "nullable": True,
        },
        "top_k": {
            "type": "integer",
            "description": "Chunks to return (1-10, default 5).",
            "nullable": True,
            "minimum": 1,
            "maximum": MAX_TOP_K,
        },
    }
    output_type = "string"

    def __init__(self, knowledge: KnowledgeBase) -> None:
        super().__init__()
        self._knowledge = knowledge
        self.is_initialized = True

    def forward(
        self, query: str, collections: list[str] | None = None, top_k: int | None = None
    ) -> str:
        if not isinstance(query, str) or not query.strip():
            raise ToolError(self.name, "query must be a non-empty question", "query")
        if len(query) > MAX_QUERY_CHARS:
            raise ToolError(self.name, f"query is longer than {MAX_QUERY_CHARS} chars", "query")
        if collections is not None and (
            not isinstance(collections, list) or not set(collections) <= set(COLLECTIONS)
        ):
            raise ToolError(
                self.name, f"collections must be a list drawn from {', '.join(COLLECTIONS)}",
                "collections",
            )  # fmt: skip
        count = 5 if top_k is None else check_int(self.name, "top_k", top_k, 1, MAX_TOP_K)
        try:
            result = self._knowledge.search_result(query, collections or None, count)
        except InvalidInput as exc:
            reasons = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
            raise ToolError(self.name, reasons) from exc
        payload: dict[str, Any] = {
            "chunks": [_chunk(c) for c in result.chunks],
            "fallback": result.fallback,
        }
        if result.fallback:
            payload["fallback_reason"] = result.fallback_reason
        return to_json(payload, max_text=CHUNK_CHARS)


def _chunk(chunk: Chunk) -> dict[str, Any]:
    return {
        "id": f"{chunk.collection}:{chunk.source}#{chunk.chunk_index}",
        "collection": chunk.collection,
        "source": chunk.source,
        "heading": chunk.heading,
        "score": chunk.score,
        "text": chunk.text,
    }
