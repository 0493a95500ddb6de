"""Verify stored rounds that carry a revealed seed; keep the verdict on `games`.

A round's recorded prices come from `ticks` (ticks before its rug tick; a tick not
stored is not compared), its rug tick and seeds from `games`. The verdict goes to
`games.hash_ok, replay_ok, verification (the detail), verified_at`; a round that fails
is kept as it is, marked, and announced as `game.verification_failed` on the events
exchange (logged when there is no publisher). Rounds are read and judged in chunks, so
memory does not grow with the table; `only_pending` takes the rounds not verified yet.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from game.fairness.engine import MAX_TICKS
from game.fairness.fast import Engine
from game.fairness.records import RoundRecord
from game.fairness.verify import Verdict, verify_records
from tools.errors import ServiceError
from tools.postgres import Database
from tools.publisher import EventPublisher

log = logging.getLogger(__name__)

VERIFICATION_FAILED = "game.verification_failed"

_ROUNDS = """
SELECT game_id, mode, server_seed, server_seed_hash, game_version, rug_tick FROM games
WHERE server_seed IS NOT NULL AND game_id > %(after)s {pending}
ORDER BY game_id LIMIT %(limit)s
"""
# literal, so the planner can use the partial index of unverified rounds (0050): the
# live verifier asks every few seconds, and the table grows by a round a minute
_PENDING = "AND verified_at IS NULL"
# a tick stored twice (TimescaleDB keys include the time) counts once: the first stored
_TICKS = """
SELECT game_id, array_agg(tick ORDER BY tick), array_agg(price ORDER BY tick)
FROM (SELECT DISTINCT ON (game_id, tick) game_id, tick, price FROM ticks
      WHERE game_id = ANY(%(ids)s) ORDER BY game_id, tick, time) AS t
GROUP BY game_id
"""
_STORE = """
UPDATE games SET hash_ok = v.hash_ok, replay_ok = v.replay_ok,
                 verification = v.detail::jsonb, verified_at = now()
FROM unnest(%(ids)s::text[], %(hash_ok)s::boolean[], %(replay_ok)s::boolean[],
            %(detail)s::text[]) AS v(game_id, hash_ok, replay_ok, detail)
WHERE games.game_id = v.game_id
"""


@dataclass
class VerificationSummary:
    """What one pass verified: rounds judged, verified, failed (their ids), ticks replayed."""

    rounds: int = 0
    verified: int = 0
    failed: int = 0
    unverifiable: int = 0
    ticks: int = 0
    seconds: float = 0.0
    failed_ids: list[str] = field(default_factory=list)
    unannounced: int = 0  # failures the publisher could not send (logged instead)

    def add(self, verdict: Verdict) -> None:
        self.rounds += 1
        self.ticks += verdict.rug_tick or 0
        if verdict.failed:
            self.failed += 1
            self.failed_ids.append(verdict.game_id)
        elif verdict.ok:
            self.verified += 1
        else:
            self.unverifiable += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "verified": self.verified,
            "failed": self.failed,
            "unverifiable": self.unverifiable,
            "ticks": self.ticks,
            "seconds": round(self.seconds, 3),
            "failed_ids": self.failed_ids,
        }


def verify_stored_rounds(
    database: Database | psycopg.Connection,
    *,
    only_pending: bool = True,
    publisher: EventPublisher | None = None,
    engine: Engine = "auto",
    chunk: int = 2000,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> VerificationSummary:
    """Verify the stored rounds with a seed (`only_pending`: those not verified yet),
    committing each chunk's verdicts; `on_verdict` sees every verdict (e.g. to print it)."""
    summary = VerificationSummary()
    started = time.perf_counter()
    query = _ROUNDS.format(pending=_PENDING if only_pending else "")
    after = ""
    while True:
        with _connection(database) as conn:
            rows = conn.execute(query, {"after": after, "limit": chunk}).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            records = _records(conn, rows)
            verdicts = verify_records(records, engine=engine)
            conn.execute(
                _STORE,
                {
                    "ids": [v.game_id for v in verdicts],
                    "hash_ok": [v.hash_ok for v in verdicts],
                    "replay_ok": [v.replay_ok for v in verdicts],
                    "detail": [json.dumps(v.detail(), allow_nan=False) for v in verdicts],
                },
            )
            conn.commit()
        modes = {row[0]: row[1] for row in rows}
        for verdict in verdicts:
            summary.add(verdict)
            if verdict.failed and not _announce(publisher, verdict, modes[verdict.game_id]):
                summary.unannounced += 1
            if on_verdict is not None:
                on_verdict(verdict)
        if len(rows) < chunk:
            break
    summary.seconds = time.perf_counter() - started
    return summary


def verify_stored_round(database: Database, game_id: str) -> Verdict | None:
    """The verdict on one stored round (not kept: a question, not the verifier's pass);
    None when the round is not stored. A round stored without its seed gets a verdict
    with `replay_ok` None."""
    with database.connection() as conn:
        row = conn.execute(
            "SELECT game_id, mode, server_seed, server_seed_hash, game_version, rug_tick"
            " FROM games WHERE game_id = %s",
            (game_id,),
        ).fetchone()
        if row is None:
            return None
        records = _records(conn, [row])
    if row[2] is None:
        return Verdict(game_id, hash_ok=None, replay_ok=None, reason="no revealed seed stored")
    return verify_records(records, engine="python")[0]


@contextmanager
def _connection(database: Database | psycopg.Connection) -> Iterator[psycopg.Connection]:
    if isinstance(database, psycopg.Connection):
        try:
            yield database
        except BaseException:
            database.rollback()
            raise
    else:
        with database.connection() as conn:
            yield conn


def _records(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> list[RoundRecord]:
    ticks = {
        game_id: (ticks, prices)
        for game_id, ticks, prices in conn.execute(_TICKS, {"ids": [r[0] for r in rows]})
    }
    records = []
    for game_id, _mode, seed, seed_hash, version, rug_tick in rows:
        prices: np.ndarray = np.empty(0)
        stored = ticks.get(game_id)
        if stored is not None:
            at, price = np.asarray(stored[0]), np.asarray(stored[1], dtype=np.float64)
            # ticks at or past the rug are not compared; no round has one past MAX_TICKS,
            # so any such tick stands at MAX_TICKS (past every replayed rug: a failure)
            last = MAX_TICKS if rug_tick is None else min(rug_tick - 1, MAX_TICKS)
            keep = at <= last
            if rug_tick is None and not keep.all():
                at, price = np.append(at[keep], MAX_TICKS), np.append(price[keep], price[~keep][0])
            else:
                at, price = at[keep], price[keep]
            prices = np.full(int(at[-1]) + 1 if at.size else 0, np.nan)
            prices[at] = price
        records.append(
            RoundRecord(
                game_id=game_id,
                server_seed=seed,
                server_seed_hash=seed_hash,
                version=version,
                prices=prices,
                rug_tick=rug_tick,
                source="games",
            )
        )
    return records


def _announce(publisher: EventPublisher | None, verdict: Verdict, mode: str) -> bool:
    """Publish the failure; log it when there is no publisher or it cannot send."""
    body = {"mode": mode, **verdict.detail()}
    if publisher is None:
        log.warning("round failed verification", extra={"event": VERIFICATION_FAILED, **body})
        return True
    try:
        publisher.publish(VERIFICATION_FAILED, body)
    except ServiceError as exc:
        log.error(
            "round failed verification; the event could not be published",
            extra={"event": VERIFICATION_FAILED, "error": exc.detail, **body},
        )
        return False
    return True


class LiveVerifier:
    """Verifies the rounds whose seeds the live consumer stored, every `interval_s`, on a
    daemon thread with its own connection: off the consumer's path (a round replays in a
    few milliseconds of pure Python; numba is not loaded). A database outage is logged
    and the pass tried again at the next interval."""

    def __init__(
        self, dsn: str, interval_s: float, *, publisher: EventPublisher | None = None
    ) -> None:
        self._dsn, self._interval, self._publisher = dsn, interval_s, publisher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-verifier", daemon=True)
        self.verified = self.failed = 0

    def start(self) -> LiveVerifier:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._publisher is not None:
            self._publisher.close()

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while not self._stop.wait(self._interval):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(
                        self._dsn, connect_timeout=10, application_name="agent-service-verifier"
                    )
                done = verify_stored_rounds(conn, publisher=self._publisher, engine="python")
                self.verified += done.verified
                self.failed += done.failed
                if done.rounds:
                    log.info("rounds verified", extra=done.as_dict())
            except psycopg.Error as exc:
                log.warning("round verification skipped: database error", extra={"error": str(exc)})
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
