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


def test_every_capture_format_is_read_and_unknown_ones_are_named(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(UnreadableRounds, match="not a recording format"):
        read_rounds(other)
    with pytest.raises(UnreadableRounds, match="unknown format 'csv'"):
        read_rounds(SAMPLE, format="csv")
    assert len(list(read_rounds(SAMPLE, format="game_history"))) == 3


def test_replayer_rounds_keep_their_first_tick_and_rug(tmp_path):
    replayer = SAMPLE.parent / "replayer"
    [late] = read_rounds(replayer / "game_20251108_132218_a1b34201.jsonl")
    assert (late.first_tick, late.rug_tick, late.server_seed) == (21, 64, None)
    assert len(late.prices) == 64 - 21
    [whole] = read_rounds(replayer / "game_20251108_120852_da3445cb.jsonl")
    assert (whole.first_tick, whole.rug_tick, whole.prices[0]) == (0, 7, 1.0)


def test_a_capture_with_game_history_gives_the_seeded_rounds(tmp_path):
    capture = (SAMPLE.parent / "websocket_capture_sample.jsonl").read_text()
    transition = {
        "timestamp": "2025-12-07T00:57:00",
        "event_type": "gameStateUpdate",
        "data": {"gameId": "20251207-aaaaaaaaaaaaaaaa", "active": False, "tickCount": 0,
                 "gameHistory": json.loads(SAMPLE.read_text())},
    }  # fmt: skip
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(gzip.compress((capture + json.dumps(transition) + "\n").encode()))
    seeded = [r for r in read_rounds(path) if r.server_seed]
    expected = {r.game_id: r for r in read_rounds(SAMPLE)}
    assert {r.game_id for r in seeded} == set(expected)
    for record in seeded:
        assert record.rug_tick == expected[record.game_id].rug_tick
        assert list(record.prices) == list(expected[record.game_id].prices)
