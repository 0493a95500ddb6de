"""Tournament parts without services: observations, the SB3 reader, chunks, the test."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from capabilities.tournaments.entrants import build_field, play_chunk, store_loader
from capabilities.tournaments.models import TournamentSpec
from capabilities.tournaments.service import Standings
from capabilities.tournaments.sprt import SprtSettings, decide_pair
from game.observation import bet_observations, round_observations
from game.policy_net import PolicyNet
from game.rules import load_mode
from game.sb3_zip import PolicyFileError, read_sb3_zip
from game.simulator import simulate_rounds

BASELINES = Path(__file__).resolve().parents[2] / "game" / "baselines"


@pytest.mark.parametrize("first_tick", [0, 7, 200])
def test_bet_observations_equal_the_full_ones_at_every_betting_tick(first_tick):
    rounds = simulate_rounds(load_mode("classic"), 400, 11)
    full = round_observations(rounds.prices)
    obs, row, tick = bet_observations(rounds.prices, rounds.rug_tick, first_tick, block=64)
    ticks = np.arange(full.shape[1])
    allowed = (ticks[None, :] >= first_tick) & (ticks[None, :] < rounds.rug_tick[:, None])
    want_row, want_tick = np.nonzero(allowed)
    assert np.array_equal(row, want_row) and np.array_equal(tick, want_tick)
    assert np.array_equal(obs, full[row, tick])


def test_an_sb3_zip_is_read_without_torch_as_the_exported_network():
    net = read_sb3_zip((BASELINES / "classic.zip").read_bytes())
    ref = PolicyNet.from_bytes((BASELINES / "classic.npz").read_bytes())
    x = np.random.default_rng(0).normal(size=(500, 15)).astype(np.float32) * 30
    assert net.activation == "tanh"
    assert np.array_equal(net.logits(x), ref.logits(x))


def test_a_policy_file_that_would_run_code_is_refused():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("policy.pth", inner.getvalue())
        z.writestr("data", "{}")
    with pytest.raises(PolicyFileError, match=r"builtins\.print"):
        read_sb3_zip(outer.getvalue())
    with pytest.raises(PolicyFileError, match="not a zip"):
        read_sb3_zip(b"PK\x03\x04 nonsense")


def test_identical_outcomes_are_no_difference_and_a_clear_one_is_decided():
    s = SprtSettings(h1=0.1, min_rounds=50)
    rng = np.random.default_rng(1)
    same = decide_pair(np.zeros(5000), s)
    assert same.verdict == "no_difference" and same.decided_at is not None
    better = decide_pair(rng.normal(0.5, 1.0, 5000), s)
    assert better.verdict == "a_better" and better.decided_at < 500
    worse = decide_pair(rng.normal(-0.5, 1.0, 5000), s)
    assert worse.verdict == "b_better"
    short = decide_pair(rng.normal(0.0, 1.0, 30), s)
    assert short.verdict == "undecided" and short.decided_at is None


def test_the_test_needs_fewer_rounds_than_the_fixed_test_but_not_fewer_than_walds_bound():
    """The comparator is the one-sided z-test per direction at alpha/2 (5,198 rounds for
    the defaults); at h1 the sequential test stops, on average, between Wald's lower
    bound for any sequential test and the fixed size."""
    assert SprtSettings().fixed_rounds() == 5198  # ((1.960 + 1.645) / 0.05)^2
    s = SprtSettings(h1=0.2, min_rounds=20)
    least_h0, least_h1 = s.least_rounds()
    assert least_h0 < least_h1  # alpha/2 < beta: rejecting h1 is the cheaper decision
    assert least_h1 / s.fixed_rounds() == pytest.approx(0.509, abs=0.002)
    rng = np.random.default_rng(3)
    used = [decide_pair(rng.normal(0.2, 1.0, 2000), s).decided_at for _ in range(300)]
    assert least_h1 * 0.95 < np.mean(used) < 0.75 * s.fixed_rounds(), (least_h1, np.mean(used))


def test_chunks_give_the_rounds_one_big_chunk_gives_and_standings_merge_them():
    entrants = [
        {"kind": "oracle", "name": "oracle"},
        {"kind": "archetype", "name": "late", "archetype": "conservative"},
        {"kind": "policy", "name": "ppo", "policy_id": "baseline:rising_hazard"},
        {"kind": "persona", "name": "seller", "persona": "early_seller"},
        {"kind": "persona", "name": "copier", "persona": "copy_trader"},
    ]
    spec = TournamentSpec.model_validate(
        {"mode": "rising_hazard", "seed": 5, "entrants": entrants, "sprt": {"min_rounds": 10}}
    )
    field = build_field(spec, store_loader(None))
    whole = play_chunk(field, 0, 600)
    parts = [play_chunk(field, first, 200) for first in (0, 200, 400)]
    for name in whole:
        joined = np.concatenate([p[name]["pnl"] for p in parts])
        assert np.allclose(joined, whole[name]["pnl"]), name
    standings = Standings(spec)
    for p in parts:
        standings.add(p)
    result = standings.result(finished=True)
    assert result.rounds == 600 and len(result.pairs) == 10
    assert result.entrants[0].name == "oracle"  # nothing beats the oracle
    assert sum(len(g) for g in result.ranking) == 5
