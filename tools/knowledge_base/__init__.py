"""The starter knowledge base written for this service, and how it gets seeded.

Folders named after collections hold Markdown documents; `seed(kb)` ingests each as
source `<collection>/<file name>`. Ingest skips unchanged sources, so seeding again
costs a count per document and stores nothing twice. A document whose first line is
`<!-- mode: NAME -->` is written for that mode's rules: the line is left out and its
chunks carry the payload `mode` (the coach quotes them only where the mode's models
agree, capabilities/engines/passages.py).
"""

from __future__ import annotations

import fcntl
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from tools.knowledge import COLLECTIONS, IngestReport, KnowledgeBase

STARTER_DIR = Path(__file__).resolve().parent
_MODE_LINE = re.compile(r"^<!--\s*mode:\s*([a-z][a-z0-9_]*)\s*-->\n")
log = logging.getLogger(__name__)


def starter_documents() -> list[tuple[str, Path]]:
    """(collection, file) for every shipped document, in a stable order."""
    return [
        (collection, path)
        for collection in COLLECTIONS
        for path in sorted((STARTER_DIR / collection).glob("*.md"))
    ]


def written_for(text: str) -> tuple[str | None, str]:
    """(the mode a document is written for, its text without the marker line)."""
    match = _MODE_LINE.match(text)
    return (match.group(1), text[match.end() :]) if match else (None, text)


def seed(kb: KnowledgeBase) -> list[IngestReport]:
    reports = []
    for collection, path in starter_documents():
        mode, text = written_for(path.read_text(encoding="utf-8"))
        reports.append(
            kb.ingest_text(
                text,
                collection,
                source=f"{collection}/{path.name}",
                extra={"mode": mode} if mode else None,
            )
        )
    return reports


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
