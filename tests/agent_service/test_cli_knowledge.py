"""`agent-service knowledge ...` in-process (the embedding model loads once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from qdrant_client import QdrantClient

from agent_service.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("QDRANT_URL", "AGENT_ENV_FILE", "AGENT_KNOWLEDGE_MIRROR_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["knowledge", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_ingest_files_and_folders_then_search(data_dir: Path, tmp_path: Path):
    docs = tmp_path / "playbook"
    (docs / "sub").mkdir(parents=True)
    (docs / "exits.md").write_text("# Exits\nSell half at 2x, the rest at 3x.\n")
    (docs / "sub" / "notes.txt").write_text("Sidebets only after tick 200.\n")
    (docs / "image.png").write_bytes(b"\x89PNG")  # not a text document: ignored
    single = tmp_path / "single.md"
    single.write_text("# Single\nOne file.\n")

    code, out, _ = run("ingest", str(docs), str(single), "--collection", "agent_insights")
    assert code == 0
    assert out.splitlines() == [
        "agent_insights: playbook/exits.md: 1 chunks",
        "agent_insights: playbook/sub/notes.txt: 1 chunks",
        "agent_insights: single.md: 1 chunks",
    ]
    code, out, _ = run("ingest", str(docs), "--collection", "agent_insights")
    assert code == 0 and out.count("unchanged") == 2

    code, out, _ = run("search", "when should I sell?", "--collection", "agent_insights")
    assert code == 0 and out.splitlines()[0].endswith("[agent_insights] playbook/exits.md: Exits")


def test_unreadable_file_is_reported_and_the_rest_ingested(data_dir: Path, tmp_path: Path):
    bad = tmp_path / "latin1.md"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    good = tmp_path / "good.md"
    good.write_text("# Good\ntext\n")
    code, out, err = run("ingest", str(bad), str(good), "--collection", "external_docs")
    assert code == 1
    assert f"{bad}: cannot read" in err and "external_docs: good.md: 1 chunks" in out


def test_unknown_collection_is_refused(data_dir: Path, tmp_path: Path):
    doc = tmp_path / "a.md"
    doc.write_text("x")
    code, _, err = run("ingest", str(doc), "--collection", "recipes")
    assert code == 2 and "recipes" in err


def test_a_folder_locked_by_another_process_is_explained(data_dir: Path, tmp_path: Path):
    doc = tmp_path / "a.md"
    doc.write_text("# A\nx\n")
    holder = QdrantClient(path=str(data_dir / "qdrant"))  # as `serve` would hold it
    try:
        code, _, err = run("ingest", str(doc), "--collection", "external_docs")
    finally:
        holder.close()
    assert code == 1
    assert "stop `agent-service serve`" in err and "QDRANT_URL" in err


def test_seed_is_idempotent(data_dir: Path):
    code, out, _ = run("seed")
    assert code == 0 and "rugs_protocol: rugs_protocol/sidebets.md:" in out
    assert "unchanged" not in out
    code, again, _ = run("seed")
    assert code == 0 and again.count("unchanged") == len(out.splitlines())
