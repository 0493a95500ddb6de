from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.conftest import create_database, drop_database
from tests.tools.recordings import START, make_recording
from tools.errors import InvalidInput
from tools.ingest import SELF, ingest_batch, prepare_replayer, write_batch
from tools.migrations import migrate

TABLES = ("websocket_events", "games", "ticks", "trades", "sidebets", "players")
GID = "20260102-00000000000000aa"
NEXT = "20260102-00000000000000bb"
REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture(scope="module")
def ingest_dsn(pg_admin_dsn: str) -> Iterator[str]:
    dsn = create_database(pg_admin_dsn)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture
def conn(ingest_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(ingest_dsn) as connection:
        connection.execute("TRUNCATE " + ", ".join(TABLES))
        connection.commit()
        yield connection


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    queries = {
        "websocket_events": "SELECT event_key, time, event_type, game_id, payload, source"
        " FROM websocket_events ORDER BY event_key",
        "games": "SELECT game_id, mode, started_at, ended_at, rug_tick, peak_multiplier,"
        " final_price, server_seed, server_seed_hash, tick_count FROM games ORDER BY 1",
        "ticks": "SELECT * FROM ticks ORDER BY game_id, tick",
        "trades": "SELECT * FROM trades ORDER BY trade_id",
        "sidebets": "SELECT * FROM sidebets ORDER BY 1, 2, 3",
        "players": "SELECT * FROM players ORDER BY 1",
    }
    return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def gsu(seconds: float, game: str = GID, **data: object) -> dict:
    body = {"gameId": game, "active": True, "rugged": False, "price": 1.0, "tickCount": 0}
    body.update(data)
    return {"ts": at(seconds), "event": "gameStateUpdate", "data": body}


def test_multi_round_recording_stores_every_round_once(conn):
    rec = make_recording(6, seed=3, max_rug=70)
    lines = rec.lines()
    result = ingest_batch(conn, lines, source="test", mode="fast_rug")
    conn.commit()
    assert result.rejected == []
    # six rounds and the next one announced by the rug sequence
    assert (result.events, result.games) == (len(lines), 7)
    assert result.ticks == sum(r.rug_tick for r in rec.rounds)
    assert result.trades == sum(r.trades for r in rec.rounds)
    assert (result.sidebets, result.players) == (6, len(rec.players))
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT game_id, rug_tick, peak_multiplier, final_price, server_seed,"
            " server_seed_hash, tick_count, mode, started_at < ended_at FROM games"
        )
    }
    for truth in rec.rounds:
        rug, peak, final, seed, seed_hash, ticks, mode, ordered = rows.pop(truth.game_id)
        assert rug == truth.rug_tick
        assert peak == pytest.approx(truth.peak)
        assert final == pytest.approx(0.02)
        assert (seed, seed_hash) == (truth.server_seed, truth.server_seed_hash)
        assert ticks == truth.rug_tick and mode == "fast_rug" and ordered
        prices = conn.execute(
            "SELECT price FROM ticks WHERE game_id = %s ORDER BY tick", (truth.game_id,)
        ).fetchall()
        assert [p[0] for p in prices] == pytest.approx(truth.prices)
        outcomes = conn.execute(
            "SELECT player_id, start_tick, outcome FROM sidebets WHERE game_id = %s",
            (truth.game_id,),
        ).fetchall()
        assert outcomes == truth.sidebets
    (announced,) = rows.values()
    assert announced[0] is None  # the next round: no rug yet, no seed from the old one
    assert announced[3] is None and announced[4] is None


def test_second_ingest_adds_nothing(conn):
    lines = make_recording(3, seed=5).lines()
    ingest_batch(conn, lines, source="test")
    conn.commit()
    before = snapshot(conn)
    again = ingest_batch(conn, lines, source="test")
    conn.commit()
    assert (again.events, again.games, again.ticks, again.trades, again.sidebets) == (0,) * 5
    assert again.players == 0 and again.rejected == []
    assert snapshot(conn) == before


def test_redelivery_in_any_order_and_split_yields_the_same_rows(conn):
    rec = make_recording(4, seed=11, max_rug=60)
    lines = rec.lines()
    ingest_batch(conn, lines, source="test")
    conn.commit()
    expected = snapshot(conn)
    conn.execute("TRUNCATE " + ", ".join(TABLES))
    shuffled = lines + lines[: len(lines) // 3]  # some delivered twice
    random.Random(2).shuffle(shuffled)
    i = 0
    while i < len(shuffled):
        size = random.Random(i).randint(1, 40)
        ingest_batch(conn, shuffled[i : i + size], source="test")
        conn.commit()
        i += size
    assert snapshot(conn) == expected


def test_bad_messages_are_rejected_and_the_rest_stored(conn):
    messages: list[object] = [
        json.dumps(gsu(0, tickCount=0)),
        "{truncated",
        gsu(0.25, tickCount=1, price=1.1),
        {"event": "gameStateUpdate", "data": {"gameId": GID, "price": "x"}},
        {"event": "playerUpdate", "data": {"cash": "lots"}},
        {"event": "buyOrder", "ts": at(0.3), "data": {"note": "nul\u0000byte"}},
        '{"event": "buyOrder", "data": {"note": "\\ud800"}}',
        gsu(0.5, tickCount=2, rugged=True, price=0.02),
    ]
    result = ingest_batch(conn, messages, source="test")
    assert [i for i, _ in result.rejected] == [1, 3, 4, 5, 6]
    reasons = dict(result.rejected)
    assert reasons[1].startswith("not JSON")
    assert reasons[3] == (
        "gameStateUpdate: price: Input should be a valid number, unable to parse string as a number"
    )
    assert "NUL" in reasons[5] and "surrogate" in reasons[6]
    assert result.events == 3 and result.ticks == 2
    assert conn.execute("SELECT rug_tick FROM games").fetchall() == [(2,)]


def test_rug_sequence_flags_and_back_to_back_updates(conn):
    seed = {"serverSeed": "s-old", "serverSeedHash": "h-old"}
    messages = [
        gsu(0, tickCount=0, provablyFair={"serverSeedHash": "h-old"}),
        gsu(0.25, tickCount=1, price=1.2),
        gsu(0.5, tickCount=2, price=1.5),
        # rugged arrives while still active: this is the rug, at the last tickCount
        gsu(0.75, tickCount=3, rugged=True, price=0.02, provablyFair=seed),
        # the real feed may count one more tick on the follow-up update
        gsu(0.76, tickCount=4, rugged=True, price=0.02),
        # back to back: the next gameId, in cooldown, still flagged rugged
        gsu(
            0.77,
            NEXT,
            active=False,
            rugged=True,
            tickCount=0,
            cooldownTimer=15000,
            provablyFair={"serverSeedHash": "h-new"},
        ),
        gsu(0.78, NEXT, active=False, rugged=True, tickCount=3, cooldownTimer=14900),
        # active=false for the rugged round comes later
        gsu(2.5, active=False, rugged=True, tickCount=3, price=0.02),
    ]
    for order in (messages, list(reversed(messages))):
        conn.execute("TRUNCATE " + ", ".join(TABLES))
        result = ingest_batch(conn, order, source="test")
        assert result.rejected == []
        games = dict(
            (r[0], r[1:])
            for r in conn.execute(
                "SELECT game_id, rug_tick, ended_at, final_price, peak_multiplier, server_seed,"
                " server_seed_hash, tick_count FROM games"
            )
        )
        assert games[GID] == (3, START + timedelta(seconds=0.75), 0.02, 1.5, "s-old", "h-old", 3)
        assert games[NEXT] == (None, None, None, None, None, None, None)


def test_rugged_cooldown_update_revealing_its_seed_counts_as_the_rug(conn):
    messages = [
        gsu(0, tickCount=0),
        gsu(0.25, tickCount=1, price=1.3),
        gsu(
            0.5,
            active=False,
            rugged=True,
            tickCount=2,
            price=0.02,
            cooldownTimer=15000,
            provablyFair={"serverSeed": "seed", "serverSeedHash": "hash"},
        ),
    ]
    ingest_batch(conn, messages, source="test")
    row = conn.execute("SELECT rug_tick, server_seed FROM games").fetchone()
    assert row == (2, "seed")


def test_missing_rug_update_leaves_the_rug_tick_unknown(conn):
    ingest_batch(
        conn,
        [gsu(0, tickCount=0), gsu(0.25, tickCount=1), gsu(1, NEXT, active=False)],
        source="test",
    )
    assert conn.execute("SELECT rug_tick FROM games WHERE game_id = %s", (GID,)).fetchone() == (
        None,
    )


def test_game_history_completes_known_rounds_only(conn):
    history = [
        {
            "id": GID,
            "peakMultiplier": 9.5,
            "provablyFair": {"serverSeed": "s", "serverSeedHash": "h"},
        },
        {"id": "20251231-ffffffffffffffff", "peakMultiplier": 2.0},
    ]
    ingest_batch(conn, [gsu(0, tickCount=0)], source="test")
    ingest_batch(
        conn, [gsu(9, NEXT, active=False, cooldownTimer=10000, gameHistory=history)], source="test"
    )
    rows = conn.execute(
        "SELECT game_id, peak_multiplier, server_seed FROM games ORDER BY 1"
    ).fetchall()
    assert rows == [(GID, 9.5, "s"), (NEXT, None, None)]


def test_game_history_records_with_prices_are_complete_rounds_stored_once(conn):
    history = json.loads((REAL / "game_history_sample.json").read_text())
    transition = {  # a raw websocket capture line (the bot's envelope)
        "timestamp": "2025-12-07T00:57:00",
        "event_type": "gameStateUpdate",
        "data": {"gameId": NEXT, "active": False, "rugged": True, "tickCount": 0,
                 "cooldownTimer": 14000, "gameHistory": history},
    }  # fmt: skip
    first = ingest_batch(conn, [transition], source="test")
    assert first.rejected == [] and first.games == 4  # three complete rounds, the next one
    rows = conn.execute(
        "SELECT game_id, rug_tick, first_observed_tick, server_seed, game_version, tick_count"
        " FROM games WHERE game_id <> %s ORDER BY 1",
        (NEXT,),
    ).fetchall()
    assert rows == sorted(
        (r["id"], len(r["prices"]) - 1, 0, r["provablyFair"]["serverSeed"], "v3",
         len(r["prices"]) - 1)
        for r in history
    )  # fmt: skip
    assert first.ticks == sum(len(r["prices"]) - 1 for r in history)
    placed = {(r["id"], s["playerId"], s["startedAtTick"])
              for r in history for s in r["globalSidebets"] if s["type"] == "placed"}  # fmt: skip
    paid = {(r["id"], s["playerId"], s["startTick"])
            for r in history for s in r["globalSidebets"] if s["type"] == "payout"}  # fmt: skip
    assert first.sidebets == len(placed | paid)
    later = dict(transition, timestamp="2025-12-07T00:58:30")  # the next transition lists them
    again = ingest_batch(conn, [later], source="test")
    assert (again.games, again.ticks, again.sidebets, again.players) == (0, 0, 0, 0)


def test_a_round_stored_whole_before_first_ticks_were_kept_stays_whole(conn):
    # rows of older versions have no first observed tick: seen from their start
    conn.execute(
        "INSERT INTO games (game_id, rug_tick, tick_count) VALUES (%s, 80, 80), (%s, NULL, NULL)",
        (GID, NEXT),
    )
    late = [
        {"type": "tick", "timestamp": at(t), "game_id": g, "tick": t, "price": 1.0,
         "active": True, "rugged": False}
        for g in (GID, NEXT) for t in (50, 51)
    ]  # fmt: skip
    write_batch(conn, prepare_replayer(late, source="test"), mode="classic")
    rows = conn.execute("SELECT game_id, first_observed_tick FROM games ORDER BY 1").fetchall()
    assert rows == [(GID, None), (NEXT, 50)]


def test_own_sidebet_without_game_id_attaches_to_the_active_round_and_settles(conn):
    bet = {
        "event": "currentSidebet",
        "ts": at(0.3),
        "data": {"betAmount": 0.02, "xPayout": 5, "startTick": 1},
    }
    settled = {
        "event": "currentSidebetResult",
        "ts": at(1),
        "data": {"payout": 0.1, "profit": 0.08},
    }
    ingest_batch(conn, [gsu(0, tickCount=0), gsu(0.25, tickCount=1), bet], source="test")
    # settlement in a later batch, after the round rugged at tick 2 (derived: won)
    ingest_batch(conn, [gsu(0.5, tickCount=2, rugged=True, price=0.02), settled], source="test")
    row = conn.execute(
        "SELECT game_id, player_id, start_tick, end_tick, amount, payout_factor, outcome, payout"
        " FROM sidebets"
    ).fetchone()
    assert row == (GID, SELF, 1, 41, 0.02, 5.0, "won", 0.1)


def test_explicit_settlement_wins_over_the_derived_outcome_in_any_order(conn):
    lost = {
        "event": "currentSidebetResult",
        "ts": at(1),
        "data": {"gameId": GID, "startTick": 1, "payout": 0},
    }
    bet = {
        "event": "currentSidebet",
        "ts": at(0.3),
        "data": {"gameId": GID, "betAmount": 0.02, "startTick": 1, "endTick": 41},
    }
    rug = gsu(0.5, tickCount=2, rugged=True, price=0.02)
    for order in ([bet, rug, lost], [lost, rug, bet], [rug, bet, lost]):
        conn.execute("TRUNCATE " + ", ".join(TABLES))
        for message in order:
            ingest_batch(conn, [message], source="test")
        assert conn.execute("SELECT outcome, payout, amount FROM sidebets").fetchall() == [
            ("lost", 0.0, 0.02)
        ]


def test_sidebet_with_no_round_anywhere_is_rejected(conn):
    bet = {"event": "currentSidebet", "data": {"betAmount": 0.02, "startTick": 1}}
    result = ingest_batch(conn, [bet], source="test")
    assert result.rejected == [(0, "no gameId, and no round known to attach it to")]
    assert result.events == 0


def test_messages_without_ts_are_dated_received_at_and_deduplicated(conn):
    body = json.dumps({"event": "gameStateUpdate", "data": gsu(0)["data"]}).encode()
    first = datetime(2026, 3, 1, tzinfo=UTC)
    assert ingest_batch(conn, [body], source="amqp", received_at=first).events == 1
    assert ingest_batch(conn, [body], source="amqp").events == 0
    row = conn.execute("SELECT time, source FROM websocket_events").fetchone()
    assert row == (first, "amqp")


def test_invalid_mode_is_refused_before_anything_is_written(conn):
    with pytest.raises(InvalidInput, match="mode"):
        ingest_batch(conn, [gsu(0)], source="test", mode="Robert'); DROP TABLE games;--")
    assert conn.execute("SELECT count(*) FROM websocket_events").fetchone() == (0,)


def test_concurrent_writers_with_overlapping_batches_store_each_row_once(conn, ingest_dsn):
    rec = make_recording(4, seed=13, max_rug=50)
    lines = rec.lines()
    ingest_batch(conn, lines, source="test")
    conn.commit()
    expected = snapshot(conn)
    conn.execute("TRUNCATE " + ", ".join(TABLES))
    conn.commit()
    errors: list[BaseException] = []

    def writer(order: list[str]) -> None:
        try:
            with psycopg.connect(ingest_dsn) as own:
                for i in range(0, len(order), 25):
                    ingest_batch(own, order[i : i + 25], source="test")
                    own.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(lines,)),
        threading.Thread(target=writer, args=(list(reversed(lines)),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert snapshot(conn) == expected
