"""The README documents every setting and opens with the two commands."""

from __future__ import annotations

from pathlib import Path

from agent_service.config import Settings, env_name

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [env_name(f) for f in Settings.model_fields if f"`{env_name(f)}`" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_opens_with_serve_and_test_commands():
    first_block = README.split("```")[1]
    assert "make serve" in first_block and "make test" in first_block
