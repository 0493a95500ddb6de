"""The knowledge base's collections and the file types it ingests: names the CLI needs
to build its options without importing the Qdrant client (which the gunicorn master,
loading the CLI, must not carry into every worker)."""

from __future__ import annotations

COLLECTIONS = ("external_docs", "rugs_protocol", "rl_design", "agent_insights")
# suffix -> whether the file is Markdown (chunked by heading) rather than plain text
TEXT_SUFFIXES = {".md": True, ".markdown": True, ".txt": False, ".text": False}
