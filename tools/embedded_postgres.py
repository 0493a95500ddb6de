"""A private PostgreSQL under the data dir, for running with nothing configured.

pgserver ships PostgreSQL binaries in a wheel; the server it starts is shared by every
process that asks for the same directory and stops when the last of them exits.
"""

from __future__ import annotations

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
        log.info("starting embedded postgres", extra={"pgdata": str(directory)})
        server = pgserver.get_server(directory, cleanup_mode="stop")
        _servers[directory] = server
    return server.get_uri()  # type: ignore[attr-defined]
