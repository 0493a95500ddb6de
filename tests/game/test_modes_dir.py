"""Modes as data: a directory of TOML files and a lookup for modes declared elsewhere."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from capabilities.engines.state import ModeName
from game.rules import (
    UNKNOWN_MODE,
    ModeEntry,
    ModeError,
    clear_mode_lookup,
    is_known_mode,
    load_mode,
    mode_entry,
    read_modes_dir,
    set_mode_lookup,
    use_modes_dir,
)


def _dir(tmp_path, **files: str):
    folder = tmp_path / "modes"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)
    return folder


def test_a_directory_declares_modes_that_extend_packaged_ones_and_each_other(tmp_path):
    folder = _dir(
        tmp_path,
        dirtest_steep='extends = "dirtest_base"\nhazard_slope = 0.001\n',
        dirtest_base='extends = "fast_rug"\ndescription = "faster"\nsidebet_payout = 6.0\n',
    )
    entries = {e.name: e for e in use_modes_dir(folder)}
    assert set(entries) == {"dirtest_base", "dirtest_steep"}
    steep = load_mode("dirtest_steep")
    assert steep.rug_prob == 0.02 and steep.sidebet_payout == 6.0 and steep.hazard_slope == 0.001
    assert mode_entry("dirtest_steep").source == "dir"
    assert mode_entry("dirtest_steep").base == "dirtest_base"
    assert load_mode("dirtest_steep") is steep  # declared once, the same rules after


def test_a_bad_file_is_named_with_its_line_and_key(tmp_path):
    folder = _dir(
        tmp_path,
        good='extends = "classic"\n',
        broken='extends = "classic"\n\nrug_prob = 2.0\n',
        classic="rug_prob = 0.01\n",
    )
    with pytest.raises(ModeError) as caught:
        read_modes_dir(folder)
    message = str(caught.value)
    assert "broken.toml:3: key 'rug_prob'" in message
    assert "classic.toml: 'classic' is a packaged mode" in message
    assert "good.toml" not in message
    with pytest.raises(ModeError, match=r"key 'extends'.*unknown mode 'nowhere'"):
        read_modes_dir(_dir(tmp_path / "b", orphan='extends = "nowhere"\n'))
    with pytest.raises(ModeError, match="circular"):
        read_modes_dir(_dir(tmp_path / "c", a='extends = "b"\n', b='extends = "a"\n'))
    with pytest.raises(ModeError, match="not a directory"):
        read_modes_dir(tmp_path / "absent")


def test_the_lookup_finds_modes_declared_elsewhere_and_is_remembered(tmp_path):
    asked: list[str] = []
    rules = load_mode("classic").model_copy(update={"name": "lookup_only"})

    def lookup(name: str) -> ModeEntry | None:
        asked.append(name)
        found = name == rules.name
        return ModeEntry(name, "db", "modes table", "classic", rules) if found else None

    set_mode_lookup(lookup)
    try:
        assert not is_known_mode("lookup_missing")
        assert load_mode("lookup_only") is rules
        assert load_mode("lookup_only") is rules
        assert asked == ["lookup_missing", "lookup_only"]  # found once, then remembered
    finally:
        clear_mode_lookup(lookup)
    assert not is_known_mode("lookup_only"), "forgotten with the store it came from"


def test_request_models_refuse_unknown_modes_with_their_own_error_type():
    class Request(BaseModel):
        mode: ModeName = "classic"

    assert Request(mode="rising_hazard").mode == "rising_hazard"
    with pytest.raises(ValidationError) as caught:
        Request(mode="never_declared")
    assert caught.value.errors()[0]["type"] == UNKNOWN_MODE
    with pytest.raises(ValidationError) as caught:
        Request(mode="Not A Name")
    assert caught.value.errors()[0]["type"] == "string_pattern_mismatch"
    schema = Request.model_json_schema()["properties"]["mode"]
    assert "enum" not in schema and "classic" in schema["examples"] and schema["pattern"]
