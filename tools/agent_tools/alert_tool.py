"""Publishing an alert from an agent onto the service's event exchange (`alert.<severity>`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from smolagents import Tool

from tools.agent_tools.base import ToolError, check_choice, check_identifier, to_json

if TYPE_CHECKING:
    from tools.publisher import EventPublisher

SEVERITIES = ("info", "warning", "critical")
MAX_MESSAGE_CHARS = 500
GAME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class PublishAlertTool(Tool):
    name = "publish_alert"
    description = (
        "Publish an alert for operators and the bot on the agent.events exchange with "
        "routing key alert.<severity> (subscribers such as n8n bind alert.#). Use it only "
        "for findings someone must act on (a broken feed, a -EV strategy in use, a data "
        "anomaly), once per finding; state the figures and their source in the message. "
        'Returns JSON {"published": true, "routing_key", "message_id"}.'
    )
    inputs = {
        "severity": {
            "type": "string",
            "enum": list(SEVERITIES),
            "description": "info, warning or critical.",
        },
        "message": {
            "type": "string",
            "description": f"What happened and what to do, 1-{MAX_MESSAGE_CHARS} characters.",
        },
        "game_id": {"type": "string", "description": "The round concerned.", "nullable": True},
    }
    output_type = "string"

    def __init__(self, publisher: EventPublisher, *, source: str = "agent") -> None:
        super().__init__()
        self._publisher = publisher
        self._source = source
        self.is_initialized = True

    def forward(self, severity: str, message: str, game_id: str | None = None) -> str:
        severity = check_choice(self.name, "severity", severity, SEVERITIES)
        if not isinstance(message, str) or not message.strip():
            raise ToolError(self.name, "message must be non-empty text", "message")
        message = message.strip()
        if len(message) > MAX_MESSAGE_CHARS:
            raise ToolError(
                self.name,
                f"message has {len(message)} characters; the limit is {MAX_MESSAGE_CHARS}",
                "message",
            )
        if _CONTROL.search(message):
            raise ToolError(self.name, "message contains control characters", "message")
        if game_id is not None:
            game_id = check_identifier(self.name, "game_id", game_id, GAME_ID)
        routing_key = f"alert.{severity}"
        body: dict[str, Any] = {
            "severity": severity,
            "message": message,
            "game_id": game_id,
            "source": self._source,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        message_id = self._publisher.publish(routing_key, body)
        return to_json({"published": True, "routing_key": routing_key, "message_id": message_id})
