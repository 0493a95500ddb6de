"""`POST /v1/knowledge/search`: chunks of the knowledge base closest to a question."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, current_app
from flask.blueprints import BlueprintSetupState
from pydantic import BaseModel, ConfigDict, Field, create_model

from agent_service.api import json_response, operation, parse_body
from tools.knowledge import COLLECTIONS, FILTER_KEYS, MAX_TOP_K

bp = Blueprint("knowledge", __name__, url_prefix="/v1/knowledge")

CollectionName = Literal[COLLECTIONS]  # type: ignore[valid-type]  # one list of names


@bp.record_once
def _announce(setup: BlueprintSetupState) -> None:
    setup.app.extensions["agent"].capabilities.add("knowledge_search")


KnowledgeFilter = create_model(  # one optional field per filterable payload key
    "KnowledgeFilter",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Payload values the chunks must have (all given keys must match).",
    **{key: (kind | None, None) for key, kind in FILTER_KEYS.items()},
)


class KnowledgeSearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1, max_length=1000, pattern=r"\S", description="the question or keywords"
    )
    collections: list[CollectionName] | None = Field(
        None, min_length=1, description="collections to search; default: all four"
    )
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="how many chunks to return")
    filter: KnowledgeFilter | None = None  # type: ignore[valid-type]


class KnowledgeChunk(BaseModel):
    score: float = Field(description="cosine similarity to the query, higher is closer")
    collection: str
    source: str = Field(description="the document the chunk comes from")
    heading: str = Field(description="heading path of the chunk's section")
    text: str
    chunk_index: int
    mode: str | None = Field(
        None, description="the game mode whose rules the document was written for, if any"
    )


class KnowledgeSearchResponse(BaseModel):
    chunks: list[KnowledgeChunk] = Field(description="best first")
    fallback: bool = Field(
        description="true when Qdrant was unreachable and the local copy answered"
    )
    fallback_reason: str | None = None


@bp.post("/search")
@operation(
    summary="Search the knowledge base (game rules, protocol, RL design, API docs, insights)",
    tag="knowledge",
    request=KnowledgeSearchRequest,
    response=KnowledgeSearchResponse,
    extra_statuses=(503,),
)
def search() -> Response:
    body = parse_body(KnowledgeSearchRequest)
    kb = current_app.extensions["agent"].backends.knowledge()
    where = body.filter.model_dump(exclude_none=True) if body.filter else None
    result = kb.search_result(body.query, body.collections, body.top_k, where)
    return json_response(
        KnowledgeSearchResponse(
            chunks=[
                KnowledgeChunk(
                    score=c.score,
                    collection=c.collection,
                    source=c.source,
                    heading=c.heading,
                    text=c.text,
                    chunk_index=c.chunk_index,
                    mode=c.mode,
                )
                for c in result.chunks
            ],
            fallback=result.fallback,
            fallback_reason=result.fallback_reason,
        )
    )
