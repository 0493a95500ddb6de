"""The verdict on a recorded round: does its seed hash to the published hash, and does
the engine, seeded with it, play exactly the recorded prices and rug tick?

Prices must be equal to the bit (`rel_tol=0`, the default): the server's arithmetic is
reproduced operation for operation, so any difference is a different round, not noise.
The engine is the one the record names; when it names none (or one we do not know),
v3, v2 and v1 are tried in that order and the first that matches is reported
(`version_detected`); when none matches, the v3 comparison is reported.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from game.fairness.engine import ENGINE_VERSIONS, EngineVersion
from game.fairness.fast import Engine, replay_many
from game.fairness.records import RoundRecord


@dataclass(frozen=True)
class Verdict:
    """The outcome for one round. `replay_ok` is None when there was no seed to replay,
    `hash_ok` None when no hash was published. `rug_tick` and `peak` are the replayed
    round's; `max_abs_diff` the largest |recorded - replayed| over the compared ticks."""

    game_id: str
    hash_ok: bool | None
    replay_ok: bool | None
    rug_tick: int | None = None
    peak: float | None = None
    max_abs_diff: float | None = None
    version: str | None = None
    version_detected: bool = False
    recorded_rug_tick: int | None = None
    first_diff_tick: int | None = None
    ticks_compared: int = 0
    reason: str | None = None
    source: str | None = None

    @property
    def ok(self) -> bool:
        """Verified: replayed exactly, and the hash (when published) matches."""
        return self.replay_ok is True and self.hash_ok is not False

    @property
    def failed(self) -> bool:
        """Something checked and did not match (a round with no seed has not failed)."""
        return self.replay_ok is False or self.hash_ok is False

    def summary(self) -> dict[str, Any]:
        """The one-line JSON form: game_id, hash_ok, replay_ok, rug_tick, peak,
        max_abs_diff, version."""
        return {
            "game_id": self.game_id,
            "hash_ok": self.hash_ok,
            "replay_ok": self.replay_ok,
            "rug_tick": self.rug_tick,
            "peak": self.peak,
            "max_abs_diff": self.max_abs_diff,
            "version": self.version,
        }

    def detail(self) -> dict[str, Any]:
        """Every field (what `games.verification` stores)."""
        return asdict(self)


def hash_matches(server_seed: str, server_seed_hash: str | None) -> bool | None:
    """SHA-256 of the seed's UTF-8 bytes against the published hex digest."""
    if not server_seed_hash:
        return None
    digest = hashlib.sha256(server_seed.encode()).hexdigest()
    return digest == server_seed_hash.strip().lower()


def compare(
    record: RoundRecord,
    prices: Sequence[float] | np.ndarray,
    rug_tick: int,
    version: str,
    *,
    rel_tol: float = 0.0,
) -> Verdict:
    """Judge `record` against a replayed round (its prices at ticks 0..rug_tick-1)."""
    replayed = np.asarray(prices, dtype=np.float64)
    recorded = np.asarray(record.prices, dtype=np.float64)
    ticks = np.arange(record.first_tick, record.first_tick + len(recorded))
    seen = ~np.isnan(recorded)
    if record.rug_tick is not None:
        seen &= ticks < record.rug_tick  # what a reader kept at or past the rug is not a tick's
    common = seen & (ticks < rug_tick)
    diff = np.abs(recorded[common] - replayed[ticks[common]])
    bound = rel_tol * np.abs(replayed[ticks[common]])
    bad_ticks = ticks[common][~(diff <= bound)]  # NaN/inf differences count as bad
    beyond = ticks[seen & (ticks >= rug_tick)]  # recorded prices after the replayed rug
    max_diff = float(diff.max()) if diff.size else None
    reasons = []
    first_diff: int | None = None
    if bad_ticks.size:
        first_diff = int(bad_ticks[0])
        reasons.append(
            f"{bad_ticks.size} price(s) differ, first at tick {first_diff} "
            f"(recorded {float(recorded[first_diff - record.first_tick])!r}, "
            f"replayed {float(replayed[first_diff])!r})"
        )
    if record.rug_tick is not None and record.rug_tick != rug_tick:
        reasons.append(f"rug tick {record.rug_tick} recorded, {rug_tick} replayed")
        first_diff = min(rug_tick, record.rug_tick, *([] if first_diff is None else [first_diff]))
    elif beyond.size:
        reasons.append(f"prices recorded past the replayed rug tick {rug_tick}")
        first_diff = rug_tick if first_diff is None else min(first_diff, rug_tick)
    compared = int(common.sum())
    if not compared and record.rug_tick is None and not beyond.size:
        reasons, replay_ok = ["nothing recorded to compare: no price, no rug tick"], None
    else:
        replay_ok = not reasons
    return Verdict(
        game_id=record.game_id,
        hash_ok=None,
        replay_ok=replay_ok,
        rug_tick=rug_tick,
        peak=float(replayed.max()),
        max_abs_diff=max_diff if max_diff is None or math.isfinite(max_diff) else None,
        version=version,
        recorded_rug_tick=record.rug_tick,
        first_diff_tick=first_diff,
        ticks_compared=compared,
        reason="; ".join(reasons) or None,
        source=record.source,
    )


def verify_round(record: RoundRecord, *, rel_tol: float = 0.0) -> Verdict:
    """One round, in pure Python (a few milliseconds: the web and live path)."""
    return verify_records([record], engine="python", rel_tol=rel_tol)[0]


def verify_records(
    records: Sequence[RoundRecord], *, engine: Engine = "auto", rel_tol: float = 0.0
) -> list[Verdict]:
    """Verdicts for `records`, in order; `engine` as `fast.replay_many`'s."""
    seeded = [i for i, r in enumerate(records) if r.server_seed]
    verdicts: list[Verdict | None] = [None] * len(records)
    for i, record in enumerate(records):
        if not record.server_seed:
            verdicts[i] = Verdict(
                record.game_id,
                hash_ok=None,
                replay_ok=None,
                version=record.version,
                recorded_rug_tick=record.rug_tick,
                reason="no revealed server seed: not verifiable",
                source=record.source,
            )
    named = {i: records[i].version for i in seeded if records[i].version in ENGINE_VERSIONS}
    # the named engine, else v3, then v2 and v1 for the unnamed rounds that do not match
    first_try: dict[int, Verdict] = {}
    pending = seeded
    for fallback in ENGINE_VERSIONS[::-1]:
        if not pending:
            break
        versions: list[EngineVersion] = [named.get(i, fallback) for i in pending]  # type: ignore[misc]
        played = replay_many(
            [records[i].server_seed or "" for i in pending],
            [records[i].game_id for i in pending],
            versions,
            engine=engine,
        )
        retry = []
        for i, version, (prices, rug, _moves) in zip(pending, versions, played, strict=True):
            verdict = compare(records[i], prices, rug, version, rel_tol=rel_tol)
            if verdict.replay_ok is not False or i in named:
                verdicts[i] = _finish(records[i], verdict, detected=i not in named)
            else:
                first_try.setdefault(i, verdict)
                retry.append(i)
        pending = retry
    for i in pending:  # no engine matched: report the first (v3) comparison
        verdicts[i] = _finish(records[i], first_try[i], detected=True)
    return verdicts  # type: ignore[return-value]


def _finish(record: RoundRecord, verdict: Verdict, detected: bool) -> Verdict:
    reason = verdict.reason
    if detected and record.version:
        note = f"engine {record.version!r} unknown, {verdict.version} tried"
        reason = f"{note}; {reason}" if reason else note
    hash_ok = hash_matches(record.server_seed or "", record.server_seed_hash)
    if hash_ok is False:
        mismatch = "the seed's SHA-256 is not the published serverSeedHash"
        reason = f"{mismatch}; {reason}" if reason else mismatch
    return replace(verdict, hash_ok=hash_ok, version_detected=detected, reason=reason)
