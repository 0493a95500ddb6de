from __future__ import annotations

import gzip
import re

import psycopg

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
