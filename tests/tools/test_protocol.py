from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tools.protocol import (
    CurrentSidebet,
    CurrentSidebetResult,
    Envelope,
    GameStateUpdate,
    NewTrade,
    PlayerUpdate,
    Rejected,
    parse_envelope,
    parse_time,
)

GID = "20251107-0a1b2c3d4e5f6789"
TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def legacy(event: str, data: object, **extra: object) -> dict:
    line = {"seq": 3, "ts": "2025-11-07T12:00:00.250Z", "event": event, "data": data}
    line.update({"source": "cdp", "direction": "received"})
    line.update(extra)
    return line


def update(**fields: object) -> dict:
    data = {"gameId": GID, "active": True, "rugged": False, "price": 1.5, "tickCount": 12}
    data.update(fields)
    return data


def _trade(**fields: object) -> dict:
    data = {
        "id": "t1",
        "gameId": GID,
        "playerId": "p1",
        "username": "alice",
        "level": 12,
        "type": "buy",
        "amount": 0.1,
        "qty": 0.08,
        "price": 1.25,
        "tickIndex": 4,
        "coin": "solana",
        "leverage": 2,
    }
    data.update(fields)
    return data


def test_legacy_line_becomes_a_typed_update_with_its_own_time_and_source():
    env = parse_envelope(json.dumps(legacy("gameStateUpdate", update())), source="import")
    assert isinstance(env, Envelope)
    assert isinstance(env.message, GameStateUpdate)
    assert env.message.tick_count == 12 and env.message.price == 1.5
    assert env.time == datetime(2025, 11, 7, 12, 0, 0, 250000, tzinfo=UTC)
    assert (env.seq, env.source, env.direction) == (3, "cdp", "received")
    assert env.game_id == GID


def test_amqp_body_without_ts_has_no_time_and_takes_the_callers_source():
    body = json.dumps({"event": "standard/newTrade", "data": _trade()}).encode()
    env = parse_envelope(body, source="amqp")
    assert isinstance(env, Envelope) and isinstance(env.message, NewTrade)
    assert env.time is None and env.source == "amqp"
    assert env.message.type == "buy" and env.message.tick_index == 4


def test_unknown_fields_are_ignored_at_every_level():
    data = update(
        brandNewField={"x": 1},
        leaderboard=[{"id": "p1", "username": "a", "futureStat": 3, "sideBet": None}],
        provablyFair={"serverSeedHash": "h", "algo": "new"},
    )
    env = parse_envelope(legacy("gameStateUpdate", data), source="s")
    assert isinstance(env, Envelope)
    assert env.message.leaderboard[0]["id"] == "p1"
    assert env.data["brandNewField"] == {"x": 1}  # the raw payload keeps everything


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([{"__trace": True, "traceparent": TP}, update()], "socket.io argument list"),
        ({**update(), "__trace": True, "traceparent": TP}, "merged into the payload"),
    ],
)
def test_trace_preamble_is_read_and_the_message_kept(data, where):
    env = parse_envelope(legacy("gameStateUpdate", data), source="s")
    assert isinstance(env, Envelope), where
    assert env.traceparent == TP
    assert isinstance(env.message, GameStateUpdate)


def test_single_argument_list_is_unwrapped_for_typed_events():
    env = parse_envelope(legacy("gameStateUpdate", [update()]), source="s")
    assert isinstance(env, Envelope) and isinstance(env.message, GameStateUpdate)
    assert env.data == update()


def test_top_level_list_with_trace_preamble():
    body = [{"__trace": True, "traceparent": TP}, {"event": "playerUpdate", "data": {"cash": 2}}]
    env = parse_envelope(json.dumps(body), source="s")
    assert isinstance(env, Envelope) and isinstance(env.message, PlayerUpdate)
    assert env.traceparent == TP and env.message.cash == 2


def test_standalone_trace_preamble_is_not_an_error_and_not_an_event():
    env = parse_envelope({"__trace": True, "traceparent": TP}, source="s")
    assert isinstance(env, Envelope) and env.is_trace and env.traceparent == TP


def test_sidebet_messages():
    bet = parse_envelope(
        legacy(
            "currentSidebet", {"betAmount": 0.01, "xPayout": 5, "startTick": 210, "endTick": 250}
        ),
        source="s",
    )
    assert isinstance(bet.message, CurrentSidebet) and bet.message.end_tick == 250
    result = parse_envelope(
        legacy("currentSidebetResult", {"payout": 0.05, "profit": 0.04}), source="s"
    )
    assert isinstance(result.message, CurrentSidebetResult) and result.message.payout == 0.05


def test_untyped_event_is_accepted_raw():
    env = parse_envelope(legacy("buyOrder", {"amount": 0.01}, direction="sent"), source="s")
    assert isinstance(env, Envelope) and env.message is None and env.direction == "sent"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ("42", "expected a JSON object"),
        ({"data": {}}, "event: missing"),
        ({"event": "bad name!", "data": {}}, "event: missing or not an event name"),
        ({"event": "gameStateUpdate"}, "data: missing"),
        (legacy("gameStateUpdate", "text"), "gameStateUpdate: data is not an object"),
        (legacy("gameStateUpdate", {"active": True}), "gameStateUpdate: gameId: Field required"),
        (legacy("gameStateUpdate", update(tickCount=-1)), "tickCount: Input should be greater"),
        (legacy("gameStateUpdate", update(tickCount=2**31)), "tickCount: Input should be less"),
        (legacy("standard/newTrade", _trade(leverage=10**12)), "leverage: Input should be less"),
        (legacy("gameStateUpdate", update(price="high")), "price: Input should be a valid number"),
        (legacy("standard/newTrade", _trade(type="steal")), "type: Input should be 'buy'"),
        (legacy("gameStateUpdate", update(), ts="yesterday"), "ts: not a timestamp"),
        (legacy("gameStateUpdate", update(), seq="7"), "seq: not an integer"),
        ('{"event": "gameStateUpdate", "data": {"gameId": "g", "price": NaN}}', "not JSON"),
        (
            {"event": "gameStateUpdate", "data": update(price=float("nan"))},
            "price: Input should be a finite number",
        ),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(raw, reason):
    result = parse_envelope(raw, source="s")
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_validation_reason_counts_further_errors():
    result = parse_envelope(legacy("gameStateUpdate", {"tickCount": -1}), source="s")
    assert isinstance(result, Rejected) and "(and 1 more)" in result.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1762516800, datetime(2025, 11, 7, 12, 0, tzinfo=UTC)),
        (1762516800250, datetime(2025, 11, 7, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2025-11-07T12:00:00", datetime(2025, 11, 7, 12, 0, tzinfo=UTC)),
        ("2025-11-07T13:00:00+01:00", datetime(2025, 11, 7, 12, 0, tzinfo=UTC)),
        (True, None),
        (-5, None),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected
