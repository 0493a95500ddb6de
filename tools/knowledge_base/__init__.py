"""The starter knowledge base written for this service, and how it gets seeded.

Folders named after collections hold Markdown documents; `seed(kb)` ingests each as
source `<collection>/<file name>`. Ingest skips unchanged sources, so seeding again
costs a count per document and stores nothing twice.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from tools.knowledge import COLLECTIONS, IngestReport, KnowledgeBase

STARTER_DIR = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def starter_documents() -> list[tuple[str, Path]]:
    """(collection, file) for every shipped document, in a stable order."""
    return [
        (collection, path)
        for collection in COLLECTIONS
        for path in sorted((STARTER_DIR / collection).glob("*.md"))
    ]


def seed(kb: KnowledgeBase) -> list[IngestReport]:
    return [
        kb.ingest(path, collection, source=f"{collection}/{path.name}")
        for collection, path in starter_documents()
    ]


def is_empty(kb: KnowledgeBase) -> bool:
    return all(kb.count(c) == 0 for c in COLLECTIONS)


def seed_in_background(open_kb: Callable[[], KnowledgeBase], lock_file: Path) -> threading.Thread:
    """Seed from a daemon thread when the collections are empty, so start-up stays fast.

    A non-blocking file lock lets one of several workers sharing a Qdrant server do it;
    a failure is logged, never raised: the service runs without a seeded base.
    """

    def run() -> None:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with lock_file.open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return
            try:
                kb = open_kb()
                if is_empty(kb):
                    reports = seed(kb)
                    log.info(
                        "starter knowledge base seeded",
                        extra={"chunks": sum(r.chunks for r in reports)},
                    )
            except Exception:
                log.exception("seeding the starter knowledge base failed")

    thread = threading.Thread(target=run, name="knowledge-seed", daemon=True)
    thread.start()
    return thread
