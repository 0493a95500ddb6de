"""`POST /v1/chat`: the Natural Language Interface (capability 8).

Plain JSON by default (n8n's). With `Accept: text/event-stream` the turn is streamed as
server-sent events while it runs: `intent` (the routing), `tool_call` (each call with
its duration), `partial` (the capability's answer before a model narrates), then `final`
(the whole response) or `error` (a problem document). The turn runs in its own thread
and the response generator writes each event as it arrives; errors raised before the
turn's first event (an unknown conversation, a database that is down) are answered
with their HTTP status instead of a stream.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
from flask import Blueprint, Response, current_app, request

from agent_service.api import json_response, operation, parse_body
from capabilities.chat.intent import ChatContext
from capabilities.chat.models import ChatRequest, ChatResponse
from capabilities.chat.service import ChatService
from capabilities.chat.store import ConversationStore
from tools.errors import ServiceError

bp = Blueprint("chat", __name__, url_prefix="/v1")
_LOCK = threading.Lock()
_END = object()
STREAM = "text/event-stream"


def chat_service() -> ChatService:
    """The app's chat service, built on first use (the router's vectors load then, or in
    the warm-up)."""
    app = current_app
    with _LOCK:
        service = app.extensions.get("chat")
        if service is None:
            state = app.extensions["agent"]
            backends, settings = state.backends, state.settings
            secrets = list(state.keys)
            for secret in (settings.llm_api_key, settings.hf_token, settings.qdrant_api_key):
                if secret is not None:
                    secrets.append(secret.get_secret_value())
            for url in (settings.database_url, settings.sql_database_url, settings.amqp_url):
                if url is not None:
                    secrets.append(_password(url.get_secret_value()))
            service = ChatService(
                router=backends.chat_router(),
                store=ConversationStore(backends.database),
                runtime=state.runtime,
                shared_tools=backends.agent_tools if state.runtime.models else None,
                secrets=tuple(secrets),
                max_steps=settings.llm_max_steps,
            )
            app.extensions["chat"] = service
        return service


def _password(url: str) -> str:
    """The password of a connection URL or PostgreSQL key/value string ('' for none)."""
    try:
        return str(psycopg.conninfo.conninfo_to_dict(url).get("password") or "")
    except psycopg.Error:  # not PostgreSQL's form (amqp://...)
        return urlsplit(url).password or ""


def _context() -> ChatContext:
    backends = current_app.extensions["agent"].backends
    return ChatContext(
        database=backends.database,
        model_set=backends.models.get,
        knowledge=backends.knowledge,
        runtime=current_app.extensions["agent"].runtime,
    )


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


def _stream(service: ChatService, body: ChatRequest, context: ChatContext) -> Response:
    events: queue.Queue[Any] = queue.Queue()

    def run() -> None:
        try:
            response = service.answer(body, context, lambda k, d: events.put((k, d)))
            events.put(("final", response.model_dump(mode="json")))
        except Exception as exc:  # reported in the stream, or with its status before it
            events.put(exc)
        finally:
            events.put(_END)

    threading.Thread(target=run, name="chat-turn", daemon=True).start()
    first = events.get()  # the turn always puts an event or its error, then _END
    if isinstance(first, Exception):
        raise first  # nothing sent yet: the error handlers answer with its status

    def generate() -> Iterator[str]:
        item = first
        while item is not _END:
            if isinstance(item, ServiceError):
                yield _event("error", {"status": item.status, "title": item.title,
                                       "detail": item.detail})  # fmt: skip
            elif isinstance(item, Exception):
                yield _event("error", {"status": 500, "title": "Internal Server Error",
                                       "detail": "an unexpected error occurred"})  # fmt: skip
            else:
                yield _event(*item)
            item = events.get()

    return Response(
        generate(),
        mimetype=STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.post("/chat")
@operation(
    summary="Ask about the game, your bot, training and the service in plain language",
    tag="capabilities",
    request=ChatRequest,
    response=ChatResponse,
    extra_statuses=(404, 503),
    description="Routes the message to one of the service's intents (no language model "
    "needed) and answers from that capability's numbers; unsure, it asks back "
    "(`clarification`). `conversation_id` continues a conversation: a follow-up such as "
    "'and at tick 300?' reuses the last turn's intent and values. With a model configured "
    "a tool-calling agent answers over every capability's tools, held to the groundedness "
    "check. With `Accept: text/event-stream` the turn streams as server-sent events: "
    "`intent`, `tool_call` (with `duration_ms`), `partial`, then `final` (this response) "
    "or `error`.",
)
def chat() -> Response:
    body = parse_body(ChatRequest)
    service = chat_service()
    context = _context()
    accept = request.accept_mimetypes
    if accept[STREAM] > accept["application/json"]:
        return _stream(service, body, context)
    return json_response(service.answer(body, context))
