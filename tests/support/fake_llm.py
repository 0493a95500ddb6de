"""A local chat-completions server with scripted replies, for running the real
smolagents loop in tests.

`protocol="openai"` speaks OpenAI's `/v1/chat/completions` (tool-call arguments as a JSON
string) and lists `/v1/models`; `protocol="tgi"` speaks Text Generation Inference's
OpenAI-compatible route as the Hugging Face client calls it (`/v1/chat/completions` on
the endpoint URL, arguments as a JSON object, `/health` and `/info`). Each POST takes
the next reply of the script; an exhausted script answers 500.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal


@dataclass(frozen=True)
class Reply:
    tool_calls: tuple[tuple[str, Any], ...] = ()  # (name, arguments: dict, or raw str)
    content: str | None = None
    status: int = 200
    hang_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 20


def call(name: str, arguments: Any = None, **usage: int) -> Reply:
    return Reply(tool_calls=((name, {} if arguments is None else arguments),), **usage)


def calls(*pairs: tuple[str, Any], **usage: int) -> Reply:
    return Reply(tool_calls=tuple(pairs), **usage)


def final(answer: Any, **usage: int) -> Reply:
    return call("final_answer", {"answer": answer}, **usage)


def error(status: int = 500) -> Reply:
    return Reply(status=status)


def hang(seconds: float) -> Reply:
    return Reply(hang_s=seconds, content="too late")


@dataclass
class FakeLLM:
    script: list[Reply]
    protocol: Literal["openai", "tgi"] = "openai"
    model: str = "fake-model"
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def spec(self) -> str:
        """The AGENT_LLM_MODELS entry that points at this server."""
        if self.protocol == "openai":
            return f"openai:{self.model}@{self.root}/v1"
        return f"hf:{self.model}@{self.root}"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.received.append(body)
            return self.script.pop(0) if self.script else Reply(status=500)

    def _completion(self, reply: Reply) -> dict[str, Any]:
        tool_calls = []
        for i, (name, arguments) in enumerate(reply.tool_calls):
            if self.protocol == "openai" or isinstance(arguments, str):
                args: Any = arguments if isinstance(arguments, str) else json.dumps(arguments)
            else:
                args = arguments
            function: dict[str, Any] = {"name": name, "arguments": args}
            if self.protocol == "tgi":
                function["description"] = None
            tool_calls.append({"id": f"call_{i}", "type": "function", "function": function})
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": "" if self.protocol == "tgi" else "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "3.0.0-native" if self.protocol == "tgi" else None,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                if fake.protocol == "openai" and self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": fake.model}]})
                elif fake.protocol == "tgi" and self.path in ("/health", "/info"):
                    self._send(200, {"model_id": fake.model} if self.path == "/info" else {})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": f"no route {self.path}"})
                    return
                reply = fake._next(body)
                if reply.hang_s:
                    fake._release.wait(reply.hang_s)
                if reply.status != 200:
                    self._send(reply.status, {"error": {"message": "scripted failure"}})
                    return
                self._send(200, fake._completion(reply))

        return Handler
