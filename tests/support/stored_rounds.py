"""Simulated rounds written straight into the game tables, for tests of what reads them.

(The import and the consumer have their own tests; this skips the protocol so tests of
models and capabilities can load thousands of rounds in a second.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

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
                copy.write_row((game_id, mode, start, start + timedelta(seconds=rug / 4), rug,
                                float(np.nanmax(path)), float(path[-1]), rug))  # fmt: skip
        with cur.copy("COPY ticks (game_id, tick, time, price) FROM STDIN") as copy:
            for i, game_id in enumerate(rounds.game_ids):
                start = EPOCH + timedelta(minutes=offset + i)
                for tick in range(int(rounds.rug_tick[i])):
                    price = float(rounds.prices[i, tick])
                    copy.write_row((game_id, tick, start + timedelta(seconds=tick / 4), price))
