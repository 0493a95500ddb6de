"""Verdicts: the real rounds verify, tampered copies fail with the round named."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from game.fairness.engine import replay
from game.fairness.records import RoundRecord
from game.fairness.verify import verify_records, verify_round
from tests.game.fairness.conftest import ABOVE_100


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_the_sample_rounds_verify_exactly(sample_records, engine):
    verdicts = verify_records(sample_records, engine=engine)
    assert [v.summary() for v in verdicts] == [
        {
            "game_id": r.game_id,
            "hash_ok": True,
            "replay_ok": True,
            "rug_tick": r.rug_tick,
            "peak": max(r.prices),
            "max_abs_diff": 0.0,
            "version": "v3",
        }
        for r in sample_records
    ]
    assert all(v.ok and not v.failed and v.ticks_compared == v.rug_tick for v in verdicts)
    assert [v.rug_tick for v in verdicts] == [92, 329, 89]


def test_one_price_changed_fails_at_that_tick(sample_records):
    record = sample_records[1]
    prices = list(record.prices)
    prices[200] = math.nextafter(prices[200], 2.0)  # one ulp
    verdict = verify_round(dataclasses.replace(record, prices=prices))
    assert verdict.failed and not verdict.ok and verdict.game_id == record.game_id
    assert (verdict.hash_ok, verdict.replay_ok, verdict.first_diff_tick) == (True, False, 200)
    assert 0 < verdict.max_abs_diff < 1e-15
    assert "1 price(s) differ, first at tick 200" in verdict.reason


def test_a_wrong_seed_fails_hash_and_replay(sample_records):
    record = sample_records[0]
    seed = record.server_seed[:-1] + ("0" if record.server_seed[-1] != "0" else "1")
    verdict = verify_round(dataclasses.replace(record, server_seed=seed))
    assert (verdict.game_id, verdict.hash_ok, verdict.replay_ok) == (record.game_id, False, False)
    assert verdict.reason.startswith("the seed's SHA-256 is not the published serverSeedHash")


def test_a_right_seed_with_a_wrong_hash_fails_on_the_hash_alone(sample_records):
    record = dataclasses.replace(sample_records[2], server_seed_hash="0" * 64)
    verdict = verify_round(record)
    assert (verdict.hash_ok, verdict.replay_ok, verdict.failed) == (False, True, True)


@pytest.mark.parametrize("shift", [-1, 1])
def test_a_wrong_rug_tick_fails(sample_history, shift):
    entry = dict(sample_history[2])
    prices = entry["prices"]
    entry["prices"] = prices[:-2] + prices[-1:] if shift < 0 else [*prices[:-1], 1.0, *prices[-1:]]
    verdict = verify_round(RoundRecord.from_game_history(entry))
    assert verdict.replay_ok is False and verdict.rug_tick == 89
    assert verdict.reason.startswith(f"rug tick {89 + shift} recorded, 89 replayed")
    assert verdict.first_diff_tick == min(89, 89 + shift)


def test_the_version_is_found_when_the_record_names_none(sample_records):
    verdicts = verify_records([dataclasses.replace(r, version=None) for r in sample_records])
    assert all(v.ok and v.version == "v3" and v.version_detected for v in verdicts)
    v2 = replay(*ABOVE_100, "v2")
    record = RoundRecord(v2.game_id, ABOVE_100[0], prices=v2.prices, rug_tick=v2.rug_tick)
    found = verify_round(record)
    assert (found.ok, found.version, found.version_detected) == (True, "v2", True)
    v1 = replay(*ABOVE_100, "v1")
    found = verify_round(dataclasses.replace(record, prices=v1.prices, version="v9"))
    assert (found.ok, found.version) == (True, "v1")
    assert "engine 'v9' unknown, v1 tried" in found.reason
    named = verify_round(dataclasses.replace(record, version="v3"))  # named: not searched
    assert (named.replay_ok, named.version, named.version_detected) == (False, "v3", False)


def test_no_engine_matching_reports_the_v3_comparison(sample_records):
    record = dataclasses.replace(sample_records[0], version=None, prices=[1.0, 2.0])
    verdict = verify_round(record)
    assert (verdict.replay_ok, verdict.version, verdict.version_detected) == (False, "v3", True)
    assert verdict.first_diff_tick == 1


def test_no_seed_is_not_verifiable_and_has_not_failed(sample_records):
    verdict = verify_round(dataclasses.replace(sample_records[0], server_seed=None))
    assert (verdict.hash_ok, verdict.replay_ok, verdict.ok, verdict.failed) == (
        None, None, False, False,
    )  # fmt: skip
    assert "no revealed server seed" in verdict.reason


def test_gaps_and_a_late_start_compare_only_what_was_recorded(sample_records):
    record = sample_records[1]
    prices = np.array(record.prices[100:])
    prices[[3, 50, 51]] = np.nan
    partial = dataclasses.replace(record, prices=prices, first_tick=100)
    verdict = verify_round(partial)
    assert verdict.ok and verdict.ticks_compared == record.rug_tick - 100 - 3
    # only prices and no rug tick: a recorded tick past the replayed rug fails
    beyond = dataclasses.replace(record, prices=[*record.prices, 1.0], rug_tick=None)
    verdict = verify_round(beyond)
    assert verdict.replay_ok is False and "past the replayed rug tick 329" in verdict.reason
    nothing = verify_round(dataclasses.replace(record, prices=[], rug_tick=None))
    assert (nothing.replay_ok, nothing.failed) == (None, False)


def test_a_relative_tolerance_accepts_rounded_prices(sample_records):
    record = sample_records[0]
    rounded = dataclasses.replace(record, prices=[round(p, 12) for p in record.prices])
    assert verify_round(rounded).replay_ok is False
    verdict = verify_round(rounded, rel_tol=1e-11)
    assert verdict.replay_ok and 0 < verdict.max_abs_diff < 1e-11


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": 3}, "id"),
        ({"prices": []}, "prices"),
        ({"prices": [1.0, "x"]}, "prices[1]"),
        ({"prices": [1.0, -1.0]}, "prices[1]"),
        ({"prices": [1.0]}, "prices"),
        ({"rugged": "yes"}, "rugged"),
        ({"provablyFair": "s"}, "provablyFair"),
        ({"provablyFair": {"serverSeed": 5}}, "provablyFair.serverSeed"),
        ({"gameVersion": 3}, "gameVersion"),
    ],
)
def test_a_bad_game_history_record_names_the_field(sample_history, change, field):
    with pytest.raises(ValueError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        RoundRecord.from_game_history({**sample_history[0], **change})


def test_an_unrugged_record_keeps_every_price(sample_history):
    record = RoundRecord.from_game_history({**sample_history[0], "rugged": False})
    assert record.rug_tick is None and len(record.prices) == len(sample_history[0]["prices"])
    assert verify_round(record).replay_ok is False  # its "last tick" is the rug price
