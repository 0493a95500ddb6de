"""What `agent-service check` says of Qdrant's local mode while the service runs.

Local mode locks its folder to one process: while `agent-service serve` runs, the check
cannot open the store, and "down" would be wrong. The check then asks the running
service (`/ready` on AGENT_HOST:AGENT_PORT, an open endpoint) about the store it holds,
or, when no service answers there, says which process holds the lock and what to do.
"""

from __future__ import annotations

from dataclasses import replace

import requests

from agent_service.config import Settings
from agent_service.readiness import ComponentStatus

_LOCKED = "already accessed by another instance"


def qdrant_through_service(settings: Settings, status: ComponentStatus) -> ComponentStatus:
    """`status` as it is, unless the local store is locked: then the service's view."""
    if settings.qdrant_mode != "embedded" or status.status != "down":
        return status
    if _LOCKED not in (status.detail or ""):
        return status
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}/ready"
    try:
        theirs = requests.get(url, timeout=settings.check_timeout_s + 1).json()["components"]
        theirs = theirs["qdrant"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return replace(
            status,
            detail=f"the local store {settings.qdrant_path} is locked by another process and "
            f"no service answers {url}: stop that process, or set QDRANT_URL to a server",
        )
    detail = theirs.get("detail") or theirs.get("status")
    return replace(
        status,
        status=theirs.get("status", "down"),
        latency_ms=theirs.get("latency_ms"),
        detail=f"held by the running service; its /ready says: {detail}",
    )
