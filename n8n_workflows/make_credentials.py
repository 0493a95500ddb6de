"""Prints the credentials of the workflows, for `n8n import:credentials --input=FILE`.

    AGENT_API_KEY=... [AMQP_URL=amqp://user:pass@host:5672/vhost] \
        python3 n8n_workflows/make_credentials.py > credentials.json

Fills `credentials.template.json`: the service's key as a Header Auth credential
(`Authorization: Bearer <key>`), and the RabbitMQ login the verification-failure alert
listens with (from AMQP_URL; guest@127.0.0.1:5672/ when unset). Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

TEMPLATE = Path(__file__).resolve().parent / "credentials.template.json"
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def amqp_values(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return {
        "AMQP_HOST": parts.hostname or "127.0.0.1",
        "AMQP_PORT": str(parts.port or (5671 if parts.scheme == "amqps" else 5672)),
        "AMQP_USER": unquote(parts.username or "guest"),
        "AMQP_PASSWORD": unquote(parts.password or "guest"),
        "AMQP_VHOST": vhost,
    }


def fill(node: Any, values: dict[str, str]) -> Any:
    """Replace ${NAME} in every string; a string that is only a number's ${NAME} becomes
    that number (n8n wants the port as one)."""
    if isinstance(node, dict):
        return {k: fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, values) for v in node]
    if isinstance(node, str):
        text = _VAR.sub(lambda m: values[m.group(1)], node)
        whole = _VAR.fullmatch(node)
        return int(text) if whole and text.isdigit() else text
    return node


def credentials(environ: dict[str, str]) -> list[dict[str, Any]]:
    key = environ.get("AGENT_API_KEY", "").strip()
    if not key:
        raise SystemExit("AGENT_API_KEY is not set (the service's key: $AGENT_DATA_DIR/api_key)")
    values = {"AGENT_API_KEY": key, **amqp_values(environ.get("AMQP_URL") or "amqp://")}
    return fill(json.loads(TEMPLATE.read_text()), values)


if __name__ == "__main__":
    json.dump(credentials(dict(os.environ)), sys.stdout, indent=2)
    sys.stdout.write("\n")
