"""Operators override the agent's prompt parts from AGENT_PROMPTS_DIR."""

from __future__ import annotations

import pytest

from capabilities.engines.runtime import prompts


@pytest.fixture(autouse=True)
def _fresh_cache():
    prompts.load_prompt.cache_clear()
    yield
    prompts.load_prompt.cache_clear()


def test_a_part_in_the_folder_replaces_the_packaged_one(tmp_path, monkeypatch):
    (tmp_path / "narrate.yaml").write_text("instructions: |-\n  Answer in French. {{ '' }}\n")
    monkeypatch.setenv("AGENT_PROMPTS_DIR", str(tmp_path))
    assert prompts.render("narrate", "instructions") == "Answer in French. "
    task = prompts.render(
        "narrate", "task", capability="coach", request_json="{}", evidence_json="{}",
        answer_json="{}", guidance="", schema_json="{}",
    )  # fmt: skip
    assert task.startswith("Capability: coach")  # the packaged part, kept


def test_an_unknown_part_is_refused(tmp_path, monkeypatch):
    (tmp_path / "narrate.yaml").write_text("instruction: typo\n")
    monkeypatch.setenv("AGENT_PROMPTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="no such prompt part"):
        prompts.load_prompt("narrate")


def test_without_the_folder_the_package_is_used(monkeypatch):
    monkeypatch.delenv("AGENT_PROMPTS_DIR", raising=False)
    assert "VECTRA Agent Service" in prompts.render("narrate", "instructions")
