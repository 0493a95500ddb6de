"""A round is stored under one mode: importing rounds of two modes simulated with one seed
stores both (their ids differ), and an import under another mode than a round's stored
one leaves that round alone, byte for byte, and reports it."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import psycopg
import pytest

from game.recording import write_recording
from game.rules import load_mode
from game.simulator import game_id
from tests.support.row_checksums import row_checksums, table_sizes
from tools.importer import ImportWorkers, import_file
from tools.migrations import migrate


@pytest.fixture
def db(fresh_pg_dsn: str) -> str:
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    return fresh_pg_dsn


def simulated(folder: Path, mode: str, games: int = 8, seed: int = 11) -> tuple[Path, dict]:
    """A simulated recording of `mode` (as `agent-service simulate --out`) and its truth."""
    out, truth = folder / f"{mode}.jsonl", folder / f"{mode}.truth.json"
    summary = write_recording(load_mode(mode), games, seed, out, truth=truth, n_players=8)
    return out, {"summary": summary, **json.loads(truth.read_text())}


def line_rounds(path: Path) -> list[str]:
    """The round each line of a recording is about."""
    return [json.loads(line)["data"]["gameId"] for line in path.read_text().splitlines()]


def test_two_modes_simulated_with_one_seed_are_imported_fully(tmp_path, db):
    classic, classic_truth = simulated(tmp_path, "classic")
    rising, rising_truth = simulated(tmp_path, "rising_hazard")
    with psycopg.connect(db) as conn, ImportWorkers(db, 2) as workers:
        first = import_file(conn, classic, mode="classic", batch_size=300)
        second = import_file(conn, rising, mode="rising_hazard", batch_size=300, workers=workers)
        stored = {
            mode: conn.execute(
                "SELECT count(*), sum(rug_tick), (SELECT count(*) FROM ticks t JOIN games h"
                " USING (game_id) WHERE h.mode = %(m)s), (SELECT count(*) FROM trades t JOIN"
                " games h USING (game_id) WHERE h.mode = %(m)s) FROM games WHERE mode = %(m)s",
                {"m": mode},
            ).fetchone()
            for mode in ("classic", "rising_hazard")
        }
    for stats, path, truth, mode in (
        (first, classic, classic_truth, "classic"),
        (second, rising, rising_truth, "rising_hazard"),
    ):
        rugs = sum(g["rug_tick"] for g in truth["games"].values())
        trades = truth["summary"].trades
        assert (stats.skipped, stats.skipped_lines, stats.bad_lines) == ({}, 0, 0)
        assert stats.events == stats.lines == len(path.read_text().splitlines())
        # eight rounds and the one announced at the last rug
        assert (stats.games, stats.ticks, stats.trades) == (9, rugs, trades)
        assert stats.sidebets == truth["summary"].sidebets
        assert stored[mode] == (9, rugs, rugs, trades)


def with_classic_ids(folder: Path, seed: int) -> Path:
    """Rising-hazard rounds under the ids of the classic rounds of the same seed, as the
    simulator made them before ids named their mode: other rounds, same ids."""
    folder.mkdir()
    path, _ = simulated(folder, "rising_hazard", seed=seed)
    text = path.read_text()
    for i in range(9):
        text = text.replace(game_id(seed, i, "rising_hazard"), game_id(seed, i))
    old = folder / "old_ids.jsonl"
    old.write_text(text)
    return old


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("collision", ["same_file", "old_ids"])
def test_rounds_stored_under_another_mode_are_left_alone_and_reported(
    tmp_path, db, workers, collision
):
    classic, _ = simulated(tmp_path, "classic", seed=5)
    colliding = classic if collision == "same_file" else with_classic_ids(tmp_path / "old", 5)
    rising, rising_truth = simulated(tmp_path, "rising_hazard", seed=6)
    classic_ids = set(line_rounds(classic))
    assert set(line_rounds(colliding)) == classic_ids
    # this mode's rounds, then the colliding ones, in batches holding both
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(rising.read_text() + colliding.read_text())
    n_rising = len(rising.read_text().splitlines())
    with psycopg.connect(db) as conn:
        import_file(conn, classic, mode="classic")
        before, sizes = row_checksums(conn, classic_ids), table_sizes(conn)
        reported: list[tuple[int, str, str]] = []
        with ImportWorkers(db, workers) if workers else nullcontext() as pool:
            stats = import_file(
                conn,
                mixed,
                mode="rising_hazard",
                batch_size=250,
                workers=pool,
                on_bad_line=lambda line, reason: pytest.fail(f"{line}: {reason}"),
                on_skipped=lambda line, game, stored: reported.append((line, game, stored)),
            )
        after = row_checksums(conn, classic_ids)
        grown = {t: n - sizes[t] for t, n in table_sizes(conn).items()}
        modes = dict(conn.execute("SELECT mode, count(*) FROM games GROUP BY 1").fetchall())
    assert after == before  # not a byte of those rounds changed
    assert before["ticks"][0] > 0 and before["websocket_events"][0] > 0
    assert stats.skipped == dict.fromkeys(classic_ids, "classic")
    assert stats.skipped_lines == len(colliding.read_text().splitlines())
    assert stats.bad_lines == 0
    # each skipped round reported once, at its first line in the file
    rounds = line_rounds(mixed)
    first = {g: n_rising + rounds[n_rising:].index(g) + 1 for g in classic_ids}
    assert sorted(reported) == sorted((line, g, "classic") for g, line in first.items())
    # this import's own rounds are all stored, and nothing else was added
    assert modes == {"classic": 9, "rising_hazard": 9}
    assert stats.events == grown["websocket_events"] == n_rising
    assert (stats.games, stats.trades) == (9, rising_truth["summary"].trades)
    assert (
        stats.ticks == grown["ticks"] == sum(g["rug_tick"] for g in rising_truth["games"].values())
    )
    assert stats.trades == grown["trades"] and stats.sidebets == grown["sidebets"]
