"""Gunicorn configuration used by `agent-service serve`.

gthread workers whose event loop reads each request whole before a pool thread takes it
(`agent_service.http_worker`): a slow backend call does not block the worker, and a slow
client does not hold a thread. The app is not preloaded, so every worker builds its own
pools after the fork.
"""

from __future__ import annotations

import os
from typing import Any

worker_class = "agent_service.http_worker.BufferedThreadWorker"
preload_app = False
accesslog = None  # the app writes its own JSON access lines
errorlog = "-"
keepalive = 5
max_requests = 0
forwarded_allow_ips = "127.0.0.1"
# the service is mounted at /: no client (not even a local proxy) rewrites SCRIPT_NAME or
# PATH_INFO through headers (gunicorn answered such a header with a 500)
forwarder_headers = ""
control_socket_disable = True  # gunicorn >= 27: no socket under $HOME (read-only under systemd)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """Close this worker's pools and clients on a graceful stop."""
    app = getattr(worker, "wsgi", None)
    state = getattr(app, "extensions", {}).get("agent") if app is not None else None
    if state is not None:
        state.readiness.close()
        state.backends.close()


def post_worker_init(worker: Any) -> None:
    """Seed the starter knowledge base from a background thread when its collections are
    empty: in the worker, the process that opens Qdrant, without delaying start-up."""
    app = getattr(worker, "wsgi", None)
    state = getattr(app, "extensions", {}).get("agent") if app is not None else None
    if state is not None and state.settings.knowledge_seed_on_start:
        from tools.knowledge_base import seed_in_background

        seed_in_background(
            state.backends.knowledge, state.settings.data_dir / "knowledge_seed.lock"
        )
