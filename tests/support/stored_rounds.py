"""Simulated rounds written straight into the game tables, for tests of what reads them.

(The import and the consumer have their own tests; this skips the protocol so tests of
models and capabilities can load thousands of rounds in a second.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from game.personas import Activity, Player
from game.simulator import Rounds

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def store_rounds(dsn: str, rounds: Rounds, *, mode: str | None = None, offset: int = 0) -> None:
    """Insert `rounds` into games and ticks (mode defaults to the rounds' own)."""
    mode = mode or rounds.mode
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY games (game_id, mode, started_at, ended_at, rug_tick, peak_multiplier,"
            " final_price, tick_count) FROM STDIN"
        ) as copy:
            for i, game_id in enumerate(rounds.game_ids):
                rug = int(rounds.rug_tick[i])
                path = rounds.prices[i, :rug]
                start = EPOCH + timedelta(minutes=offset + i)
                copy.write_row(
                    (
                        game_id,
                        mode,
                        start,
                        start + timedelta(seconds=rug / 4),
                        rug,
                        float(np.nanmax(path)),
                        float(path[-1]),
                        rug,
                    )
                )
        with cur.copy("COPY ticks (game_id, tick, time, price) FROM STDIN") as copy:
            for i, game_id in enumerate(rounds.game_ids):
                start = EPOCH + timedelta(minutes=offset + i)
                for tick in range(int(rounds.rug_tick[i])):
                    price = float(rounds.prices[i, tick])
                    copy.write_row((game_id, tick, start + timedelta(seconds=tick / 4), price))


def store_activity(dsn: str, rounds: Rounds, activity: Activity, players: list[Player]) -> None:
    """Insert the players' trades and sidebets of `rounds` (stored by `store_rounds`)."""
    t, s = activity.trades, activity.sidebets
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY trades (trade_id, game_id, tick, time, player_id, username, type, amount,"
            " qty, price, leverage) FROM STDIN"
        ) as copy:
            for i in range(len(t)):
                row, p = int(t.row[i]), players[int(t.player[i])]
                when = EPOCH + timedelta(minutes=int(row), seconds=int(t.tick[i]) / 4)
                copy.write_row(
                    (
                        f"sim-{row}-{i}",
                        rounds.game_ids[row],
                        int(t.tick[i]),
                        when,
                        p.player_id,
                        p.username,
                        "buy" if t.kind[i] == 0 else "sell",
                        float(t.amount[i]),
                        float(t.qty[i]),
                        float(t.price[i]),
                        1,
                    )
                )
        with cur.copy(
            "COPY sidebets (game_id, player_id, start_tick, end_tick, amount, payout_factor,"
            " outcome, payout, time) FROM STDIN"
        ) as copy:
            for i in range(len(s)):
                row = int(s.row[i])
                when = EPOCH + timedelta(minutes=row, seconds=int(s.start_tick[i]) / 4)
                copy.write_row(
                    (
                        rounds.game_ids[row],
                        players[int(s.player[i])].player_id,
                        int(s.start_tick[i]),
                        int(s.end_tick[i]),
                        float(s.amount[i]),
                        5.0,
                        "won" if s.won[i] else "lost",
                        float(s.payout[i]),
                        when,
                    )
                )
