"""The tools read what ingestion writes: protocol messages in, the figures out."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import create_database, drop_database
from tests.support.protocol_stream import game_id, stream
from tools.agent_tools import build_tools
from tools.ingest import ingest_batch
from tools.migrations import migrate
from tools.postgres import Database

RUG_TICKS = [4, 30, 12]


@pytest.fixture(scope="module")
def tools(pg_admin_dsn):
    dsn = create_database(pg_admin_dsn)
    messages, _ = stream(3, RUG_TICKS)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
        conn.autocommit = False
        result = ingest_batch(conn, messages, source="test", mode="fast_rug")
        conn.commit()
    assert result.rejected == []
    database = Database(dsn, max_size=2)
    yield {t.name: t for t in build_tools(database=database, knowledge=None, publisher=None)}
    database.close()
    drop_database(pg_admin_dsn, dsn)


def call(tool, **kwargs):
    return json.loads(tool(**kwargs))


def test_round_statistics_of_ingested_rounds(tools):
    result = call(tools["round_statistics"], mode="fast_rug")
    assert result["games"] == 3
    assert result["rug_tick"]["mean"] == pytest.approx(46 / 3, rel=1e-5)  # 6 digits kept
    assert (result["rug_tick"]["median"], result["rug_tick"]["max"]) == (12, 30)
    assert result["instarug_rate"] == pytest.approx(1 / 3, rel=1e-5)  # the round rugging at 4
    assert call(tools["round_statistics"], mode="classic")["games"] == 0


def test_price_path_and_distribution_of_ingested_rounds(tools):
    path = call(tools["round_price_path"], game_id=game_id(1), max_points=10)
    assert path["rug_tick"] == 30 and path["ticks_stored"] == 30
    assert path["points"][0] == [0, 1.0] and path["points"][-1][0] == 29
    hist = call(tools["rug_tick_distribution"], bin_width=10, checkpoints=[5, 20])
    assert hist["histogram"]["bins"] == [
        {"from": 0, "to": 10, "count": 1},
        {"from": 10, "to": 20, "count": 1},
        {"from": 30, "to": 40, "count": 1},
    ]
    assert [s["share_alive_after"] for s in hist["survival"]] == [
        pytest.approx(2 / 3, rel=1e-5),
        pytest.approx(1 / 3, rel=1e-5),
    ]


def test_trades_and_events_of_ingested_rounds(tools):
    # one trade every 5 ticks: ticks 0 | 0, 5, ..., 25 | 0, 5, 10; player0000 trades at tick 0
    trades = call(tools["player_recent_trades"], player_id="did:privy:player0000")
    assert trades["trades_total"] == 3 and trades["by_type"]["buy"]["count"] == 3
    events = call(tools["recent_live_events"], limit=1)
    assert events["counts_by_type"]["gameStateUpdate"]["count"] == sum(RUG_TICKS) + 3
    assert events["counts_by_type"]["standard/newTrade"]["count"] == 10
    assert events["events"][0]["payload"]["rugged"] is True  # the last round's rug update
    rows = call(tools["query_database"], sql="SELECT count(*) FROM trades")["rows"]
    assert rows == [[10]]
