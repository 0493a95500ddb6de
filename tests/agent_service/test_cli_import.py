from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import psycopg

from tests.support.parquet_captures import game_history, write_event_store, write_games
from tests.support.process import cli_env, run_cli
from tests.tools.recordings import make_recording

BAD = {
    5: "{this is not json",
    40: '{"seq": 1, "ts": "2026-01-02T03:04:05Z", "event": "gameStateUpdate", "data": {}}',
    41: '["a list"]',
    90: '{"seq": 2, "ts": "later", "event": "gameStateUpdate", "data": {"gameId": "x"}}',
}


def summary(stdout: str) -> dict[str, int]:
    found = re.findall(
        r"(\d+) (games|ticks|trades|sidebets|players|events added|bad lines)", stdout
    )
    return {name: int(n) for n, name in found}


def test_import_reports_bad_lines_stores_good_rounds_once_and_again_adds_nothing(
    tmp_path, fresh_pg_dsn
):
    rec = make_recording(5, seed=21, max_rug=50)
    path = tmp_path / "session.jsonl.gz"
    plain = tmp_path / "plain.jsonl"
    rec.write(plain, BAD)
    path.write_bytes(gzip.compress(plain.read_bytes()))
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))

    first = run_cli("import", str(path), "--mode", "rising_hazard", "--batch", "64", env=env)
    assert first.returncode == 1, first.stderr
    reported = re.findall(rf"^{re.escape(str(path))}:(\d+): (.+)$", first.stderr, re.M)
    assert [int(n) for n, _ in reported] == sorted(BAD)
    reasons = dict((int(n), r) for n, r in reported)
    assert reasons[5].startswith("not JSON")
    assert reasons[40] == "gameStateUpdate: gameId: Field required"
    assert reasons[41] == "expected a JSON object, got list"
    assert reasons[90].startswith("ts: not a timestamp")
    counts = summary(first.stdout)
    assert counts["games"] == 6  # five rounds and the one announced at the last rug
    assert counts["ticks"] == sum(r.rug_tick for r in rec.rounds)
    assert counts["trades"] == sum(r.trades for r in rec.rounds)
    assert counts["sidebets"] == 5 and counts["bad lines"] == len(BAD)
    with psycopg.connect(fresh_pg_dsn) as conn:
        stored = dict(
            conn.execute("SELECT game_id, rug_tick FROM games WHERE mode = 'rising_hazard'")
        )
    assert {g: t for g, t in stored.items() if t is not None} == {
        r.game_id: r.rug_tick for r in rec.rounds
    }

    again = run_cli("import", str(path), "--mode", "rising_hazard", env=env)
    assert again.returncode == 1
    counts = summary(again.stdout)
    assert counts["bad lines"] == len(BAD)
    assert all(counts[k] == 0 for k in ("games", "ticks", "trades", "sidebets", "events added"))


def test_clean_files_exit_zero_and_truncated_gzip_is_reported(tmp_path, fresh_pg_dsn):
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    clean = tmp_path / "clean.jsonl"
    make_recording(2, seed=1).write(clean)
    ok = run_cli("import", str(clean), env=env)
    assert ok.returncode == 0, ok.stderr
    assert summary(ok.stdout)["bad lines"] == 0 and summary(ok.stdout)["games"] == 3

    cut = tmp_path / "cut.jsonl.gz"
    data = gzip.compress("\n".join(make_recording(3, seed=2).lines()).encode())
    cut.write_bytes(data[: len(data) // 2])
    broken = run_cli("import", str(cut), env=env)
    assert broken.returncode == 1
    assert f"{cut}: unreadable after line" in broken.stderr
    assert summary(broken.stdout)["events added"] > 0  # what was readable was imported


def test_import_refuses_an_invalid_mode(tmp_path, fresh_pg_dsn):
    clean = tmp_path / "clean.jsonl"
    make_recording(1, seed=1).write(clean)
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    result = run_cli("import", str(clean), "--mode", "Bad Mode", env=env)
    assert result.returncode == 1
    assert "mode 'Bad Mode'" in result.stderr


def test_simulated_modes_of_one_seed_import_and_rounds_of_another_mode_are_reported(
    tmp_path, fresh_pg_dsn
):
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    files = {}
    for mode in ("classic", "rising_hazard"):
        files[mode] = tmp_path / f"{mode}.jsonl"
        made = run_cli("simulate", "--games", "6", "--mode", mode, "--seed", "11",
                       "--out", str(files[mode]), env=env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        done = run_cli("import", "--mode", mode, str(files[mode]), env=env)
        assert done.returncode == 0, done.stderr
        lines = len(files[mode].read_text().splitlines())
        assert summary(done.stdout)["games"] == 7 and summary(done.stdout)["events added"] == lines
        assert "rounds skipped" not in done.stdout

    again = run_cli("import", "--mode", "rising_hazard", str(files["classic"]), env=env)
    assert again.returncode == 1
    lines = len(files["classic"].read_text().splitlines())
    assert f"; 7 rounds skipped: stored as mode classic ({lines} lines);" in again.stdout
    assert summary(again.stdout)["events added"] == summary(again.stdout)["bad lines"] == 0
    told = re.findall(
        r":(\d+): round (\S+) is stored as mode classic, not rising_hazard", again.stderr
    )
    assert len({game for _, game in told}) == len(told) == 7  # once per round
    assert told[0][0] == "1" and "import them with --mode classic" in again.stderr


REAL = Path(__file__).resolve().parents[1] / "data" / "real"
REPLAYER = REAL / "replayer"
# first tick flagged `rugged` and first tick recorded, per REPLAYER round
REPLAYER_ROUNDS = {
    "20251029-e0e72b644b944a13": (1064, 347),
    "20251030-0f60a5d6f9cc4724": (19, 0),
    "20251102-b30575b7df6442dd": (1308, 0),
    "20251108-46643f89da3445cb": (7, 0),
    "20251108-3806a73c6c404176": (None, 0),  # disconnected before the rug
    "20251108-8e264f8da1b34201": (64, 21),  # "started mid-game (first tick 22)"
}


def _games(dsn: str) -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT game_id, source_format, rug_tick, first_observed_tick, server_seed,"
            " game_version, hash_ok, replay_ok FROM games"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_every_real_file_imports_once_and_its_seeded_rounds_verify(tmp_path, fresh_pg_dsn):
    files = sorted(str(p) for p in REAL.rglob("*") if p.is_file())
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    first = run_cli("import", *files, env=env)
    assert first.returncode == 0, first.stderr
    assert "3 seeded rounds replayed" in first.stdout and "3 verified, 0 failed" in first.stdout
    games = _games(fresh_pg_dsn)
    assert len(games) == summary(first.stdout)["games"] == 10
    for game_id, (rug, first_tick) in REPLAYER_ROUNDS.items():
        assert games[game_id][:3] == ("replayer", rug, first_tick)
    history = json.loads((REAL / "game_history_sample.json").read_text())
    for record in history:
        stored = games[record["id"]]
        assert stored == ("game_history", len(record["prices"]) - 1, 0,
                          record["provablyFair"]["serverSeed"], "v3", True, True)  # fmt: skip
    assert games["20251207-e8186dbf38e046d1"][:3] == ("websocket", None, 129)
    payouts = {
        (r["id"], s["playerId"], s["startTick"]): s["payout"]
        for r in history
        for s in r["globalSidebets"]
        if s["type"] == "payout"
    }
    with psycopg.connect(fresh_pg_dsn) as conn:
        settled = {
            (g, p, t): (outcome, payout)
            for g, p, t, outcome, payout in conn.execute(
                "SELECT game_id, player_id, start_tick, outcome, payout FROM sidebets"
                " WHERE payout IS NOT NULL"
            )
        }
    assert settled == {k: ("won" if v > 0 else "lost", v) for k, v in payouts.items()}

    again = run_cli("import", *files, env=env)
    assert again.returncode == 0, again.stderr
    counts = summary(again.stdout)
    assert all(counts[k] == 0 for k in ("games", "ticks", "trades", "sidebets", "events added"))
    assert _games(fresh_pg_dsn) == games


def test_a_replayer_round_split_over_files_is_stored_once_bad_lines_named(tmp_path, fresh_pg_dsn):
    lines = (REPLAYER / "game_20251029_183608.jsonl").read_text().splitlines()
    head, tail = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    head.write_text("\n".join(lines[:300]) + "\n" + lines[300][:50] + "\n")  # cut mid-line
    tail.write_bytes(gzip.compress("\n".join(lines[301:]).encode()))
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    later = run_cli("import", str(tail), env=env)  # the end first: truncated at its start
    assert later.returncode == 0, later.stderr
    assert _games(fresh_pg_dsn)["20251029-e0e72b644b944a13"][:3] == ("replayer", 1064, 647)
    earlier = run_cli("import", str(head), env=env)
    assert earlier.returncode == 1
    reported = re.findall(rf"^{re.escape(str(head))}:(\d+): (.+)$", earlier.stderr, re.M)
    assert [n for n, _ in reported] == ["301"] and reported[0][1].startswith("not JSON")
    assert summary(earlier.stdout)["games"] == 0
    games = _games(fresh_pg_dsn)
    assert len(games) == 1 and games["20251029-e0e72b644b944a13"][:3] == ("replayer", 1064, 347)
    with psycopg.connect(fresh_pg_dsn) as conn:
        ticks = conn.execute("SELECT count(*), min(tick), max(tick) FROM ticks").fetchone()
    assert ticks == (1064 - 347 - 1, 347, 1063)  # one line lost with the cut


def test_parquet_games_and_event_store_import_and_verify(tmp_path, fresh_pg_dsn):
    history = game_history()
    as_json = write_games(tmp_path / "games_2025-12-07.parquet", history[:2], nested_as_json=True)
    structs = write_games(tmp_path / "games_2025-12-08.parquet", history[1:], nested_as_json=False)
    events = write_event_store(tmp_path / "events.parquet")
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    result = run_cli("import", str(as_json), str(structs), str(events), env=env)
    assert result.returncode == 0, result.stderr
    assert "3 verified, 0 failed" in result.stdout
    games = _games(fresh_pg_dsn)
    assert {g: v[0] for g, v in games.items()} == {
        **{r["id"]: "parquet_games" for r in history},
        "20251207-e8186dbf38e046d1": "parquet_events",
    }
    counts = summary(result.stdout)
    assert counts["events added"] == 60 and counts["trades"] == 6
    verified = run_cli("verify", str(as_json), str(structs), "--json", env=env)
    assert verified.returncode == 0, verified.stderr
    assert sorted(json.loads(v)["game_id"] for v in verified.stdout.splitlines()) == sorted(
        [history[0]["id"], history[1]["id"], history[1]["id"], history[2]["id"]]
    )
    again = run_cli("import", str(as_json), str(structs), str(events), env=env)
    added = summary(again.stdout)
    assert all(added[k] == 0 for k in ("games", "ticks", "sidebets", "events added"))
