"""Parquet files shaped as the bot writes them, from the real samples (tests/data/real).

- `games_YYYY-MM-DD.parquet` (its recording service): one row per gameHistory record
  plus `_captured_at, _capture_date, _source, _version`; nested fields as JSON strings
  (what the service writes) or as Parquet structs and lists.
- The event store (`events_parquet/doc_type=.../*.parquet`): the columns of its writer,
  `raw_json` holding `{event, data}` for `ws_event` rows and the data alone otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
EVENT_COLUMNS = (
    "ts", "source", "doc_type", "session_id", "seq", "direction", "raw_json", "game_id",
    "player_id", "username", "event_name", "price", "tick", "action_type", "cash",
    "position_qty",
)  # fmt: skip


def game_history() -> list[dict[str, Any]]:
    return json.loads((REAL / "game_history_sample.json").read_text())


def write_games(path: Path, records: list[dict[str, Any]], *, nested_as_json: bool) -> Path:
    meta = {
        "_captured_at": "2025-12-07T00:57:00+00:00",
        "_capture_date": "2025-12-07",
        "_source": "recording_service",
        "_version": "1.0.0",
    }
    rows = []
    for record in records:
        row = {**record, **meta}
        if nested_as_json:
            row = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        rows.append(row)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_event_store(path: Path, capture: Path | None = None) -> Path:
    """The websocket capture sample as event store rows: `ws_event` rows, and each
    gameStateUpdate once more as a `game_tick` row (raw_json: the data alone)."""
    capture = capture or REAL / "websocket_capture_sample.jsonl"
    rows: list[dict[str, Any]] = []
    for line in capture.read_text().splitlines():
        message = json.loads(line)
        data = message["data"]
        game_id = data.get("gameId") if isinstance(data, dict) else None
        base = {c: None for c in EVENT_COLUMNS}
        base.update(
            ts=message["timestamp"], source="public_ws", session_id="s-1", seq=len(rows),
            direction="received", game_id=game_id,
        )  # fmt: skip
        rows.append(
            {
                **base,
                "doc_type": "ws_event",
                "event_name": message["event_type"],
                "raw_json": json.dumps({"event": message["event_type"], "data": data}),
            }
        )
        if message["event_type"] == "gameStateUpdate":
            rows.append(
                {
                    **base,
                    "seq": len(rows),
                    "doc_type": "game_tick",
                    "raw_json": json.dumps(data),
                    "tick": data.get("tickCount"),
                    "price": str(data.get("price")),
                }
            )
    schema = pa.schema(
        [(c, pa.int64() if c in ("seq", "tick") else pa.string()) for c in EVENT_COLUMNS]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path
