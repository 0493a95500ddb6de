"""A private PostgreSQL under the data dir, for running with nothing configured.

pgserver ships PostgreSQL binaries in a wheel; the server it starts is shared by every
process that asks for the same directory and stops when the last of them exits. It
counts them by pid in `.handle_pids.json`, which a process killed by SIGKILL never
leaves: its stale pid would keep the server running after every later graceful stop, so
the pids of processes that are gone are dropped before a process joins.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

_servers: dict[Path, object] = {}


def start_embedded_postgres(directory: Path) -> str:
    """Start (or join) the server in `directory`; returns its connection URI."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # heavy import, only when the embedded mode is used

    directory = directory.resolve()
    server = _servers.get(directory)
    if server is None:
        directory.mkdir(parents=True, exist_ok=True)
        forget_dead_handles(directory)
        log.info("starting embedded postgres", extra={"pgdata": str(directory)})
        server = pgserver.get_server(directory, cleanup_mode="stop")
        _servers[directory] = server
    return server.get_uri()  # type: ignore[attr-defined]


def forget_dead_handles(directory: Path) -> list[int]:
    """Drop from pgserver's handle list the pids of processes that no longer exist (under
    pgserver's own inter-process lock); returns the pids dropped."""
    import psutil
    from pgserver.postgres_server import PostgresServer

    path = directory / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = [int(p) for p in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return []
        dead = [p for p in pids if not psutil.pid_exists(p)]
        if dead:
            path.write_text(json.dumps([p for p in pids if p not in dead]))
            log.warning("embedded postgres: dropped handles of dead processes",
                        extra={"pids": dead})  # fmt: skip
    return dead
