"""gameHistory files for `verify PATH`: list, JSON lines, gzip, bad records by line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from game.fairness.records import RoundRecord
from tools.round_files import BadRecord, UnreadableRounds, read_rounds

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "real" / "game_history_sample.json"


def test_the_sample_list_is_read_with_the_line_of_each_record():
    records = list(read_rounds(SAMPLE))
    assert [type(r) for r in records] == [RoundRecord] * 3
    lines = SAMPLE.read_text().splitlines()
    for record in records:
        line = int(record.source.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == "{" and record.game_id in lines[line]


def test_json_lines_gzip_and_bad_records_are_reported_by_line(tmp_path):
    entries = json.loads(SAMPLE.read_text())
    text = "\n".join(
        [
            json.dumps(entries[0]),
            json.dumps({**entries[1], "prices": "none"}),
            "",
            json.dumps({"event": "gameStateUpdate", "data": {}, "ts": "x", "id": 1, "prices": 1}),
            json.dumps(entries[2]),
        ]
    )
    path = tmp_path / "history.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    items = list(read_rounds(path))
    assert [r.game_id for r in items if isinstance(r, RoundRecord)] == [
        entries[0]["id"], entries[2]["id"],
    ]  # fmt: skip
    bad = [r for r in items if isinstance(r, BadRecord)]
    assert bad[0] == BadRecord(2, "prices: missing or not a non-empty list")
    assert bad[1].line == 4 and "a recorded message, not a gameHistory record" in bad[1].reason


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[\n{"id": "a", "prices": [1, 2]},\n{"id": "b", "prices": [1,', 3, "invalid JSON"),
        ('[\n{"id": "a", "prices": [1, 2]}\n{"id": "b"}]', 3, "expected ',' or ']'"),
        ('[\n{"id": "a", "prices": [1, 2]}\n', 3, "the list is not closed"),
        ('[{"id": "a", "prices": [1, 2]}]\n]', 2, "text after the end of the list"),
    ],
)
def test_broken_json_is_unreadable_at_its_line(tmp_path, text, line, reason):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(UnreadableRounds) as caught:
        list(read_rounds(path))
    assert caught.value.line == line and reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_other_formats_are_named_not_guessed(tmp_path):
    capture = SAMPLE.parent / "websocket_capture_sample.jsonl"
    with pytest.raises(UnreadableRounds, match="not a format verify reads"):
        read_rounds(capture)
    with pytest.raises(UnreadableRounds, match="unknown format 'parquet'"):
        read_rounds(SAMPLE, format="parquet")
    assert len(list(read_rounds(SAMPLE, format="game_history"))) == 3
