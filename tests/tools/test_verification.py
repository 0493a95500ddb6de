"""Stored rounds verified from `games` and `ticks`: verdicts kept, failures announced."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from game.recording import RecordingOptions, write_recording
from game.rules import load_mode
from tests.support.amqp import Topology
from tools.importer import import_file
from tools.migrations import migrate
from tools.postgres import Database
from tools.publisher import EventPublisher
from tools.verification import VERIFICATION_FAILED, LiveVerifier, verify_stored_rounds


@pytest.fixture
def seeded_db(tmp_path, fresh_pg_dsn):
    """Eight seedrandom rounds imported (not verified: import_file does not verify)."""
    out = tmp_path / "fair.jsonl"
    options = RecordingOptions(prng="seedrandom", leaderboard_size=0)
    write_recording(load_mode("classic"), 8, 3, out, n_players=4, options=options)
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
        conn.autocommit = False
        import_file(conn, out)
    return fresh_pg_dsn


@pytest.fixture
def events(amqp_url):
    """A unique events exchange with a queue bound to game.#."""
    topology = Topology(amqp_url, prefix="verify")
    yield topology, topology.bind_exchange("game.#")
    topology.close()


def _verdicts(dsn):
    with psycopg.connect(dsn) as conn:
        return {
            g: (h, r, v, at is not None)
            for g, h, r, v, at in conn.execute(
                "SELECT game_id, hash_ok, replay_ok, verification, verified_at FROM games"
                " WHERE server_seed IS NOT NULL"
            )
        }


def test_stored_rounds_verify_and_a_tampered_tick_is_marked_and_announced(
    seeded_db, events, amqp_url
):
    topology, exchange = events
    database = Database(seeded_db)
    try:
        first = verify_stored_rounds(database)
        assert (first.rounds, first.verified, first.failed) == (8, 8, 0)
        stored = _verdicts(seeded_db)
        assert len(stored) == 8
        assert all(h and r and at and v["max_abs_diff"] == 0.0 for h, r, v, at in stored.values())
        assert all(v["ticks_compared"] == v["rug_tick"] for _, _, v, _ in stored.values())
        assert verify_stored_rounds(database).rounds == 0  # nothing pending

        with psycopg.connect(seeded_db) as conn:
            victim = conn.execute("SELECT min(game_id) FROM games WHERE server_seed IS NOT NULL")
            (victim,) = victim.fetchone()
            conn.execute(
                "UPDATE ticks SET price = price * 1.001 WHERE game_id = %s AND tick = 3", (victim,)
            )
        with EventPublisher(amqp_url, exchange) as publisher:
            again = verify_stored_rounds(database, only_pending=False, publisher=publisher)
    finally:
        database.close()
    assert (again.rounds, again.verified, again.failed, again.failed_ids) == (8, 7, 1, [victim])
    hash_ok, replay_ok, detail, _ = _verdicts(seeded_db)[victim]
    assert (hash_ok, replay_ok, detail["first_diff_tick"]) == (True, False, 3)
    (message,) = topology.drain(topology.queue)
    properties, body = message
    assert properties.type == VERIFICATION_FAILED
    event = json.loads(body)
    assert (event["game_id"], event["mode"], event["replay_ok"]) == (victim, "classic", False)
    assert event["first_diff_tick"] == 3 and "tick 3" in event["reason"]


def test_a_round_with_a_seed_but_no_ticks_is_judged_on_its_rug_tick(seeded_db):
    with psycopg.connect(seeded_db) as conn:
        (victim,) = conn.execute(
            "SELECT min(game_id) FROM games WHERE server_seed IS NOT NULL"
        ).fetchone()
        conn.execute("DELETE FROM ticks WHERE game_id = %s", (victim,))
        conn.execute("UPDATE games SET rug_tick = rug_tick + 1 WHERE game_id = %s", (victim,))
        conn.commit()
        summary = verify_stored_rounds(conn, chunk=3)  # several chunks
    assert (summary.rounds, summary.failed_ids) == (8, [victim])
    assert "rug tick" in _verdicts(seeded_db)[victim][2]["reason"]


def test_the_live_verifier_catches_up_in_the_background(seeded_db):
    verifier = LiveVerifier(seeded_db, 0.05).start()
    try:
        deadline = time.monotonic() + 10
        while verifier.verified < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        verifier.stop()
    assert (verifier.verified, verifier.failed) == (8, 0)
    assert all(r for _, r, _, _ in _verdicts(seeded_db).values())


def test_ticks_past_the_rug_are_ignored_and_without_a_rug_tick_they_fail(seeded_db):
    with psycopg.connect(seeded_db) as conn:
        first, second = (
            g
            for (g,) in conn.execute(
                "SELECT game_id FROM games WHERE server_seed IS NOT NULL ORDER BY 1 LIMIT 2"
            )
        )
        far = "INSERT INTO ticks (game_id, tick, time, price) VALUES (%s, %s, now(), 1.0)"
        conn.execute(far, (first, 1_000_000))  # past its known rug tick: not a tick
        conn.execute(far, (second, 1_000_000))  # and with no rug tick: past any replayed rug
        conn.execute("UPDATE games SET rug_tick = NULL WHERE game_id = %s", (second,))
        conn.commit()
        summary = verify_stored_rounds(conn)
    assert summary.failed_ids == [second]
    assert "past the replayed rug tick" in _verdicts(seeded_db)[second][2]["reason"]
