"""The importer's worker processes store exactly what a single process stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import psycopg
import pytest

from tests.conftest import create_database, drop_database
from tests.tools.recordings import make_recording
from tests.tools.test_ingest import snapshot
from tools.importer import ImportWorkers, import_file
from tools.migrations import migrate


@pytest.fixture
def two_databases(pg_admin_dsn: str) -> Iterator[tuple[str, str]]:
    dsns = create_database(pg_admin_dsn), create_database(pg_admin_dsn)
    for dsn in dsns:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
    yield dsns
    for dsn in dsns:
        drop_database(pg_admin_dsn, dsn)


BATCH = 8


def recording_with_own_sidebets(path: Path) -> str:
    """A recording whose own sidebet messages name no round and, for the settlement, no
    start tick, each first in its batch: placing them needs the batches before, which
    workers parse and write in parallel. Returns the round they belong to."""
    rec = make_recording(6, seed=17, max_rug=60)
    lines = rec.lines()
    game = max(rec.rounds, key=lambda r: r.rug_tick).game_id
    first = next(i for i, line in enumerate(lines) if game in line and '"tickCount": 3,' in line)
    at = (first // BATCH + 2) * BATCH - 1  # 0-based, before the line put first below
    ts = json.loads(lines[at])["ts"]
    bet = {"betAmount": 0.02, "xPayout": 5, "startTick": 2}
    lines.insert(at, json.dumps({"ts": ts, "event": "currentSidebet", "data": bet}))
    result = {"payout": 0.1, "won": True}
    settled = {"ts": ts, "event": "currentSidebetResult", "data": result}
    lines.insert(at + 2 * BATCH, json.dumps(settled))
    assert game in lines[at + 3 * BATCH]  # both within the round
    # and one before any round: rejected, and its raw event is not stored either
    lines.insert(0, json.dumps({"ts": ts, "event": "currentSidebet", "data": bet}))
    path.write_text("\n".join(lines) + "\n")
    return game


def test_workers_store_exactly_what_one_process_stores(tmp_path, two_databases):
    path = tmp_path / "rec.jsonl"
    game = recording_with_own_sidebets(path)
    alone, parallel = two_databases
    with psycopg.connect(alone) as conn:
        one = import_file(conn, path, batch_size=BATCH)
        expected = snapshot(conn)
    with psycopg.connect(parallel) as conn, ImportWorkers(parallel, 2) as workers:
        many = import_file(conn, path, batch_size=BATCH, workers=workers)
        stored = snapshot(conn)
    one.seconds = many.seconds = 0.0
    assert one == many and one.bad_lines == 1
    assert stored == expected
    own = [row for row in stored["sidebets"] if row[1] == "self"]
    assert [(r[0], r[6], r[7]) for r in own] == [(game, "won", 0.1)]  # placed, settled


def test_workers_store_lines_repeated_across_batches_once(tmp_path, fresh_pg_dsn):
    rec = make_recording(4, seed=8, max_rug=50)
    once, twice = tmp_path / "once.jsonl", tmp_path / "twice.jsonl"
    rec.write(once)
    twice.write_text(once.read_text() * 2)  # every line again, in another batch
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    with psycopg.connect(fresh_pg_dsn) as conn, ImportWorkers(fresh_pg_dsn, 2) as workers:
        stats = import_file(conn, twice, batch_size=16, workers=workers)
        again = import_file(conn, once, batch_size=7, workers=workers)
        stored = {t: len(rows) for t, rows in snapshot(conn).items()}
    assert stats.events == len(rec.events) == stored["websocket_events"]
    assert stats.ticks == sum(r.rug_tick for r in rec.rounds) == stored["ticks"]
    assert stats.trades == sum(r.trades for r in rec.rounds) == stored["trades"]
    assert (again.events, again.ticks, again.trades, again.games) == (0, 0, 0, 0)


def test_workers_that_cannot_connect_fail_the_import(tmp_path, fresh_pg_dsn):
    path = tmp_path / "rec.jsonl"
    make_recording(1, seed=2).write(path)
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
        unreachable = psycopg.conninfo.make_conninfo(fresh_pg_dsn, port=1, connect_timeout=1)
        with ImportWorkers(unreachable, 1) as workers, pytest.raises(BrokenProcessPool):
            import_file(conn, path, workers=workers)
        assert conn.execute("SELECT count(*) FROM websocket_events").fetchone() == (0,)
