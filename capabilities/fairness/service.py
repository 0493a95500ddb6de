"""Verify one round in pure Python (a few milliseconds; no numba in the web workers)."""

from __future__ import annotations

import re

from capabilities.engines.state import GAME_ID_PATTERN
from capabilities.fairness.models import ReplayedPath, VerifyRequest, VerifyResponse
from game.fairness.engine import replay
from game.fairness.records import RoundRecord
from game.fairness.verify import hash_matches, verify_round

_STANDARD_ID = re.compile(GAME_ID_PATTERN)


def verify_one(request: VerifyRequest) -> VerifyResponse:
    """The verdict on one round; with no prices, the replayed path instead of a comparison."""
    notes = []
    if not _STANDARD_ID.match(request.game_id):
        notes.append(
            "game_id is not of the form YYYYMMDD-<16 hex> (every real round's is): "
            "replayed as given"
        )
    replayed = None
    if request.prices is None:
        version = request.version or "v3"
        if request.version is None:
            notes.append("no version given: engine v3 played")
        played = replay(request.server_seed, request.game_id, version)
        replayed = ReplayedPath(prices=played.prices, rug_tick=played.rug_tick)
        hash_ok = hash_matches(request.server_seed, request.server_seed_hash)
        return VerifyResponse(
            game_id=request.game_id,
            hash_ok=hash_ok,
            replay_ok=None,
            verified=False,
            rug_tick=played.rug_tick,
            peak=played.peak,
            max_abs_diff=None,
            version=version,
            version_detected=False,
            first_diff_tick=None,
            ticks_compared=0,
            reason=None if hash_ok is not False else "the seed's SHA-256 is not the hash given",
            notes=notes,
            replayed=replayed,
        )
    record = RoundRecord.from_game_history(
        {
            "id": request.game_id,
            "prices": request.prices,
            "gameVersion": request.version,
            "provablyFair": {
                "serverSeed": request.server_seed,
                "serverSeedHash": request.server_seed_hash,
            },
        }
    )
    verdict = verify_round(record)
    assert verdict.rug_tick is not None and verdict.peak is not None  # a seed was given
    return VerifyResponse(
        game_id=verdict.game_id,
        hash_ok=verdict.hash_ok,
        replay_ok=verdict.replay_ok,
        verified=verdict.ok,
        rug_tick=verdict.rug_tick,
        peak=verdict.peak,
        max_abs_diff=verdict.max_abs_diff,
        version=verdict.version,  # type: ignore[arg-type]
        version_detected=verdict.version_detected,
        first_diff_tick=verdict.first_diff_tick,
        ticks_compared=verdict.ticks_compared,
        reason=verdict.reason,
        notes=notes,
        replayed=None,
    )
