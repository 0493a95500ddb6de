"""`agent-service verify` on files and on the database, and the import's verification:
simulated seedrandom rounds round-trip simulate -> import -> verify."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import psycopg
import pytest

from tests.support.amqp import Topology
from tests.support.process import cli_env, run_cli
from tests.tools.recordings import make_recording

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "real" / "game_history_sample.json"
KEYS = ["game_id", "hash_ok", "replay_ok", "rug_tick", "peak", "max_abs_diff", "version"]


def test_the_sample_rounds_verify_with_exit_0(tmp_path):
    done = run_cli("verify", "--json", str(SAMPLE), env=cli_env())
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [list(r) for r in rows] == [KEYS] * 3
    assert [(r["rug_tick"], r["max_abs_diff"], r["hash_ok"], r["replay_ok"]) for r in rows] == [
        (92, 0.0, True, True), (329, 0.0, True, True), (89, 0.0, True, True),
    ]  # fmt: skip
    assert "3 rounds: 3 verified, 0 failed" in done.stderr
    text = run_cli("verify", str(SAMPLE), env=cli_env())
    assert text.returncode == 0
    assert re.search(r"20251207-31a51b95c19745e9  ok .* rug tick 329  peak 5\.8401x", text.stdout)


def test_tampered_copies_fail_with_the_round_named(tmp_path):
    entries = json.loads(SAMPLE.read_text())
    price, seed, rug = (json.loads(json.dumps(e)) for e in entries)
    price["prices"][40] = math.nextafter(price["prices"][40], 9.0)
    fair = seed["provablyFair"]
    fair["serverSeed"] = fair["serverSeed"][::-1]
    rug["prices"].insert(-1, rug["prices"][-2])  # one tick more before the rug
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps([price, seed, rug], indent=1))
    done = run_cli("verify", str(path), env=cli_env())
    assert done.returncode == 1, done.stderr
    failed = {line.split()[0]: line for line in done.stdout.splitlines() if " FAILED " in line}
    assert set(failed) == {e["id"] for e in entries}
    assert "first at tick 40" in failed[price["id"]]
    assert "HASH WRONG" in failed[seed["id"]]
    assert "rug tick 90 recorded, 89 replayed" in failed[rug["id"]]


def test_unreadable_input_exits_2_naming_file_and_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"id": "a",\n "prices": [1, 2]},\n{"id": 5, "prices": [1, 2]}\n]')
    done = run_cli("verify", str(broken), str(SAMPLE), env=cli_env())
    assert done.returncode == 2
    assert f"{broken}:4: id: missing or not a string" in done.stderr
    assert done.stdout.startswith("a  skipped") and done.stdout.count("  ok  ") == 3  # no seed
    truncated = tmp_path / "truncated.json"
    truncated.write_text(SAMPLE.read_text()[:5000])
    done = run_cli("verify", str(truncated), env=cli_env())
    assert done.returncode == 2 and re.search(rf"{truncated}:\d+: invalid JSON", done.stderr)
    assert run_cli("verify", env=cli_env()).returncode == 2  # usage: nothing to verify


def test_simulate_import_verify_round_trip(tmp_path, fresh_pg_dsn):
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    out = tmp_path / "fair.jsonl"
    args = ["--games", "12", "--seed", "4", "--players", "4", "--leaderboard-size", "0"]
    sim = run_cli("simulate", *args, "--prng", "seedrandom", "--out", str(out), env=env)
    assert sim.returncode == 0, sim.stderr
    imported = run_cli("import", str(out), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "12 seeded rounds replayed" in imported.stdout
    assert "12 verified, 0 failed" in imported.stdout
    again = run_cli("verify", "--from-db", "--all", "--json", env=env)
    assert again.returncode == 0, again.stderr
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    assert len(rows) == 12 and all(r["replay_ok"] and r["hash_ok"] for r in rows)
    assert all(r["max_abs_diff"] == 0.0 and r["version"] == "v3" for r in rows)

    with psycopg.connect(fresh_pg_dsn) as conn:
        (victim,) = conn.execute("SELECT game_id FROM games WHERE rug_tick > 5 LIMIT 1").fetchone()
        conn.execute("UPDATE ticks SET price = price + 1e-9 WHERE game_id = %s AND tick = 5",
                     (victim,))  # fmt: skip
    tampered = run_cli("verify", "--from-db", "--all", env=env)
    assert tampered.returncode == 1
    (line,) = [x for x in tampered.stdout.splitlines() if " FAILED " in x]
    assert line.startswith(victim) and "first at tick 5" in line
    with psycopg.connect(fresh_pg_dsn) as conn:
        marked = conn.execute(
            "SELECT count(*) FILTER (WHERE replay_ok), count(*) FILTER (WHERE NOT replay_ok)"
            " FROM games"
        ).fetchone()
    assert marked == (11, 1)
    assert run_cli("verify", "--from-db", env=env).stdout.startswith("0 rounds")  # none pending


def test_seedrandom_simulation_refuses_modes_no_engine_plays(tmp_path):
    done = run_cli("simulate", "--games", "1", "--prng", "seedrandom", "--mode", "fast_rug",
                   "--out", str(tmp_path / "x.jsonl"), env=cli_env())  # fmt: skip
    assert done.returncode == 2
    assert "--prng seedrandom: mode 'fast_rug' cannot be played from a seed" in done.stderr


@pytest.fixture
def events(amqp_url):
    topology = Topology(amqp_url, prefix="importverify")
    yield topology, topology.bind_exchange("game.verification_failed")
    topology.close()


def test_rounds_whose_seeds_do_not_replay_are_kept_marked_counted_and_announced(
    tmp_path, fresh_pg_dsn, amqp_url, events
):
    topology, exchange = events
    rec = make_recording(3, seed=9)  # invented seeds: they do not play these charts
    path = tmp_path / "fake.jsonl"
    rec.write(path)
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"),
                  AMQP_URL=amqp_url, AGENT_AMQP_EVENTS_EXCHANGE=exchange)  # fmt: skip
    done = run_cli("import", str(path), env=env)
    assert done.returncode == 0, done.stderr  # the import itself went well
    assert "3 seeded rounds replayed" in done.stdout and "0 verified, 3 failed" in done.stdout
    for r in rec.rounds:
        assert f"{r.game_id}: verification failed:" in done.stderr
    with psycopg.connect(fresh_pg_dsn) as conn:
        kept = dict(conn.execute("SELECT game_id, replay_ok FROM games WHERE rug_tick IS NOT NULL"))
    assert kept == {r.game_id: False for r in rec.rounds}
    announced = [json.loads(body) for _, body in topology.drain(topology.queue)]
    assert sorted(a["game_id"] for a in announced) == sorted(r.game_id for r in rec.rounds)
    assert all(a["replay_ok"] is False and a["mode"] == "classic" for a in announced)
