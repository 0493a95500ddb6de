"""Each recording format is recognised from the file itself, gzip and Parquet included."""

from __future__ import annotations

import gzip
import json

import pytest

from agent_service.cli.data import import_recordings
from tests.support.parquet_captures import REAL, game_history, write_event_store, write_games
from tests.tools.recordings import make_recording
from tools.capture_formats import FORMATS, UnreadableFile, batches, detect_format
from tools.ingest import prepare_history, prepare_replayer


def test_the_real_samples_and_the_services_own_recordings_are_recognised(tmp_path):
    assert detect_format(REAL / "websocket_capture_sample.jsonl") == "websocket"
    assert detect_format(REAL / "game_history_sample.json") == "game_history"
    for path in (REAL / "replayer").iterdir():
        assert detect_format(path) == "replayer", path
    legacy = tmp_path / "session.jsonl.gz"
    legacy.write_bytes(gzip.compress("\n".join(make_recording(1, seed=3).lines()).encode()))
    assert detect_format(legacy) == "legacy"
    lines = tmp_path / "games_2025-12-07.jsonl"  # the recording service without pyarrow
    lines.write_text("\n".join(json.dumps(r) for r in game_history()))
    assert detect_format(lines) == "game_history"


def test_a_replayer_file_starting_with_a_truncated_line_is_still_recognised(tmp_path):
    text = (REAL / "replayer" / "game_20251029_183608.jsonl").read_text()
    path = tmp_path / "cut.jsonl"
    path.write_text(text[40:])
    assert detect_format(path) == "replayer"


def test_parquet_files_are_told_apart_by_their_columns(tmp_path):
    games = write_games(tmp_path / "games.parquet", game_history(), nested_as_json=True)
    structs = write_games(tmp_path / "structs.parquet", game_history(), nested_as_json=False)
    events = write_event_store(tmp_path / "events.parquet")
    assert detect_format(games) == detect_format(structs) == "parquet_games"
    assert detect_format(events) == "parquet_events"
    for path in (games, structs):  # JSON strings and structs read as the same records
        [(numbers, rows)] = list(batches(path, "parquet_games", 100))
        assert numbers == [1, 2, 3]
        assert [r["prices"] for r in rows] == [r["prices"] for r in game_history()]
        assert rows[0]["provablyFair"] == game_history()[0]["provablyFair"]
        assert not any(k.startswith("_") for k in rows[0])


def test_anything_else_is_refused_with_the_formats_known(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(UnreadableFile, match="not a recording format import reads"):
        detect_format(other)


def test_the_cli_offers_every_format():
    option = next(p for p in import_recordings.params if p.name == "file_format")
    assert list(option.type.choices) == list(FORMATS)


def test_a_capture_opening_with_a_long_transition_message_is_recognised(tmp_path):
    history = game_history() * 10  # a transition lists about ten rounds, >100 KiB
    message = {"timestamp": "2025-12-07T00:57:00", "event_type": "gameStateUpdate",
               "data": {"gameId": "20251207-aaaaaaaaaaaaaaaa", "gameHistory": history}}  # fmt: skip
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(message) + "\n").encode() * 2))
    assert len(json.dumps(message)) > 200_000
    assert detect_format(path) == "websocket"


def test_replayer_lines_each_bad_one_named_other_types_passed_over():
    gid = "20251108-46643f89da3445cb"
    tick = {"type": "tick", "timestamp": "2025-11-08T12:08:58", "game_id": gid, "tick": 3,
            "price": 1.2, "phase": "ACTIVE_GAMEPLAY", "active": True, "rugged": False}  # fmt: skip
    lines = [
        json.dumps(tick).encode(),
        json.dumps(tick)[:60].encode(),
        json.dumps({**tick, "price": None}).encode(),
        json.dumps({**tick, "timestamp": "soon"}).encode(),
        json.dumps({"type": "session_note", "timestamp": "2025-11-08T12:08:58"}).encode(),
        json.dumps({**tick, "tick": 9, "rugged": True, "price": 0.01}).encode(),
    ]
    batch = prepare_replayer(lines, source="test")
    reasons = dict(batch.rejected)
    assert sorted(reasons) == [1, 2, 3]
    assert reasons[1].startswith("not JSON")
    assert reasons[2] == "tick: a tick line needs `game_id`, `tick` and `price`"
    assert reasons[3].startswith("timestamp: not a timestamp")
    facts = batch.rounds.games[gid]
    assert (facts.rug_tick, facts.first_tick, facts.final_price) == (9, 3, 0.01)
    assert list(batch.rounds.ticks) == [(gid, 3)]


def test_a_games_row_without_timestamp_is_dated_by_its_capture(tmp_path):
    records = [{k: v for k, v in r.items() if k != "timestamp"} for r in game_history()]
    path = write_games(tmp_path / "games.parquet", records, nested_as_json=True)
    [(_, rows)] = list(batches(path, "parquet_games", 100))
    batch = prepare_history(rows, source="test")
    assert batch.rejected == []
    ended = {f.ended_at.isoformat() for f in batch.rounds.games.values()}
    assert ended == {"2025-12-07T00:57:00+00:00"}
