"""Game models of several modes fitted together: a thin mode borrows from the modes its
rounds resemble, less as its rounds accumulate, and the registry serves it pooled."""

from __future__ import annotations

import numpy as np
import pytest

from agent_service.app import create_app
from capabilities.engines.game_models.ev import Position, evaluate
from capabilities.engines.game_models.registry import ModelRegistry
from capabilities.meta.data import load_round_stats
from capabilities.meta.pooling import ALL_MODES, UNLIKE_ANY, ModeStats, RoundStats, pool
from game.rules import GameRules, load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.stored_rounds import store_rounds


def _stats(rules: GameRules, n: int, seed: int) -> RoundStats:
    rounds = simulate_rounds(rules, n, seed=seed)
    return RoundStats.from_paths(rules.name, rounds.rug_tick, rounds.prices)


@pytest.fixture(scope="module")
def family() -> dict[str, RoundStats]:
    """Six modes on a grid of two hazards and three drift shifts (400 rounds each)."""
    out = {}
    for i, (hazard, shift) in enumerate(
        [(0.005, 0.0), (0.005, 0.004), (0.005, -0.004), (0.02, 0.0), (0.02, 0.004), (0.02, -0.004)]
    ):
        rules = GameRules(
            name=f"m{i}", rug_prob=hazard, drift_low=-0.02 + shift, drift_high=0.03 + shift
        )
        out[rules.name] = _stats(rules, 400, seed=100 + i)
    return out


def test_round_stats_match_the_per_mode_fit():
    rounds = simulate_rounds(load_mode("classic"), 200, seed=3)
    stats = RoundStats.from_paths("classic", rounds.rug_tick, rounds.prices).upto()
    r = rounds.prices[:, 1:] / rounds.prices[:, :-1] - 1
    assert stats.hazard == pytest.approx(200 / rounds.rug_tick.sum())
    assert stats.drift == pytest.approx(np.nanmean(r))
    assert stats.moves == np.isfinite(r).sum()


def test_a_thin_mode_borrows_from_its_twins_and_less_as_rounds_accumulate(family):
    target = GameRules(name="t", rug_prob=0.02, drift_low=-0.016, drift_high=0.034)
    own = _stats(target, 400, seed=7)
    sources = [s.upto() for s in family.values()]
    thin, thick = pool(own.upto(30), sources), pool(own.upto(400), sources)
    assert thin is not None and thick is not None
    # its hazard resembles the 2 % modes, its drift the +0.004 modes
    assert set(list(thin.hazard.resembles)[:3]) == {"m3", "m4", "m5"}
    assert set(list(thin.drift.resembles)[:2]) == {"m1", "m4"}
    assert thin.hazard.weight_on_others > 0.5 > thick.hazard.weight_on_others / 2
    assert thick.hazard.weight_on_others < thin.hazard.weight_on_others
    assert thick.drift.weight_on_others < thin.drift.weight_on_others
    # pooling narrows the interval, around the truth
    assert thin.hazard.high - thin.hazard.low < (thin.hazard.own_high - thin.hazard.own_low) / 2
    assert thin.hazard.low < 0.02 < thin.hazard.high
    assert thin.hazard.rounds_to_dominate is not None and thin.hazard.rounds_to_dominate > 30


def test_a_mode_unlike_any_source_keeps_its_own_estimate(family):
    novel = GameRules(name="n", rug_prob=0.05)
    pooled = pool(_stats(novel, 100, seed=8).upto(), [s.upto() for s in family.values()])
    assert pooled is not None
    top = next(iter(pooled.hazard.resembles))
    assert top in (ALL_MODES, UNLIKE_ANY)
    assert pooled.hazard.weight_on_others < 0.2
    assert abs(pooled.hazard.estimate - pooled.hazard.own) < 0.2 * pooled.hazard.own


def test_no_source_no_pooling():
    assert pool(ModeStats("a", 10, 10, 2000, 1000, 4.0, 5.0), []) is None


@pytest.fixture
def database(tmp_path, fresh_pg_dsn):
    app = create_app(make_settings(tmp_path, fresh_pg_dsn))  # migrates the fresh database
    yield app.extensions["agent"].backends.database, fresh_pg_dsn
    app.extensions["agent"].backends.close()


def test_the_registry_serves_a_thin_mode_pooled_between_rules_and_fit(database):
    db, dsn = database
    for seed, mode in enumerate(("classic", "fast_rug", "high_volatility", "rising_hazard")):
        store_rounds(dsn, simulate_rounds(load_mode(mode), 250, seed=10 + seed))
    registry = ModelRegistry(db, min_rounds=200, check_interval_s=1e9)
    assert registry.get("profit_payout").source == "rules"  # no rounds at all
    store_rounds(dsn, simulate_rounds(load_mode("profit_payout"), 40, seed=20))
    with db.connection() as conn:
        stats = load_round_stats(conn, 5000)
    assert {m: len(s) for m, s in stats.items()}["profit_payout"] == 40
    models = ModelRegistry(db, min_rounds=200).get("profit_payout")
    assert models.source == "pooled" and models.version.startswith("profit_payout@40r-pooled-")
    pooled = models.pooled
    assert pooled is not None and pooled.rounds == 40
    # profit_payout has classic's chart: its hazard is not fast_rug's
    assert next(iter(pooled.hazard.resembles)) != "fast_rug"
    assert pooled.hazard.resembles["fast_rug"] < 0.01
    assert pooled.hazard.weight_on_others > 0.3
    assert pooled.hazard.high - pooled.hazard.low < pooled.hazard.own_high - pooled.hazard.own_low
    # the expected-value engine runs on the pooled estimates
    est, low, high = models.hazard.hazard(10)
    assert (est, low, high) == (pooled.hazard.estimate, pooled.hazard.low, pooled.hazard.high)
    assert 0.0035 < est < 0.0065
    assert models.price.drift_at(1.0)[0] == pooled.drift.estimate
    decision = evaluate(Position(tick=10, price=1.2, position_qty=1.0), models.hazard,
                        models.price, models.economics, stake=0.1)  # fmt: skip
    assert decision.best in ("hold", "sell", "buy", "sidebet")
    assert "pooling" in models.evidence()
    # from min_rounds on, the mode's own fit
    store_rounds(dsn, simulate_rounds(load_mode("profit_payout"), 200, seed=20, first_round=40),
                 offset=40)  # fmt: skip
    assert ModelRegistry(db, min_rounds=200).get("profit_payout").source == "fitted"


def test_steps_to_target_needs_the_policy_to_stay_there():
    from capabilities.meta.transfer import first_within, steps_to_target
    from capabilities.training.models import CurvePoint

    def point(step, regret, oracle=0.3):
        evaluation = {"oracle_value": oracle, "regret": {"mean": regret}}
        return CurvePoint(step=step, seconds=0.0, evaluation=evaluation)

    curve = [point(0, 0.3), point(1000, 0.02), point(2000, 0.1), point(3000, 0.01)]
    assert steps_to_target(curve, 0.9, 1.0) == 3000  # 1000 reached, then fell back out
    assert steps_to_target(curve[:3], 0.9, 1.0) is None
    assert first_within(curve, 0.9, 1.0) == first_within(curve[:3], 0.9, 1.0) == 1000
    assert first_within(curve[:1], 0.9, 1.0) is None
    zero = [point(0, 0.02, 0.0), point(1000, 0.004, 0.0)]
    assert steps_to_target(zero, 0.9, 1.0) == 1000  # oracle worth 0: regret <= 0.005


def test_a_round_recorded_mid_way_is_at_risk_only_after_it_was_first_seen():
    ints, zeros = np.array([100, 50, 30]), np.zeros(3)
    stats = RoundStats("m", ints, np.array([0, 20, 30]), ints - 1, zeros, zeros,
                       np.zeros(3, np.int64), zeros, zeros)  # fmt: skip
    s = stats.upto()
    assert (s.rounds, s.events, s.exposure) == (3, 2, 100 + 30)  # the third tells nothing


def test_the_closest_source_says_how_much_the_target_resembles_it():
    """The transfer warm-starts from the closest source even when nothing is close; the
    weight it reports is what tells the two apart (fast_rug's 2 % hazard is like no
    shipped source; profit_payout keeps classic's hazard)."""
    from capabilities.meta.models import AdaptRequest
    from capabilities.meta.service import answer_from_stats, closest_source
    from capabilities.meta.transfer import FAINT_RESEMBLANCE

    sources = ("classic", "rising_hazard", "high_volatility")
    data = {m: _stats(load_mode(m), 400, seed=20 + i) for i, m in enumerate(sources)}
    for target, like_a_source in (("profit_payout", True), ("fast_rug", False)):
        stats = {**data, target: _stats(load_mode(target), 150, seed=30)}
        closest = closest_source(answer_from_stats(stats, AdaptRequest(mode=target), "rules"))
        assert closest is not None and closest[0] in sources
        assert (closest[1] >= FAINT_RESEMBLANCE) is like_a_source, (target, closest)
