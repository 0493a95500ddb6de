"""The reward spec: the bot's reward paid exactly as its env pays it, optima checked by
brute force over bet ticks, shaping that changes no policy, the tables' telescoping."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from game.reward_spec import (
    BOT_REWARD,
    NO_BET,
    RewardComputer,
    RewardSpec,
    RewardTables,
    Shaping,
    Terminal,
    money_of,
    solve,
)
from game.rules import load_mode
from game.sidebets import training_reward


def brute_force(spec: RewardSpec, mode: str, ticks=range(200, 700)):
    """Undiscounted expected reward of "bet at tick b" (never: None), from the rules'
    own survival and win probability, with no backward induction."""
    rules = load_mode(mode)
    h = rules.hazard(np.arange(1, 1501))
    alive = np.concatenate([[1.0], np.cumsum(np.log1p(-h))])
    alive = np.exp(alive)  # alive[t] = P(rug tick > t)
    rug_at = alive[:-1] - alive[1:]  # P(rug tick = t), t = 1..1500
    skip = spec.terminal.skip_reward(np.arange(1, 1501))
    out = {None: float(np.sum(rug_at * skip))}
    for b in ticks:
        p = rules.sidebet_win_probability(b)
        before = float(np.sum(rug_at[:b] * skip[:b]))
        out[b] = before + alive[b] * (p * spec.terminal.win + (1 - p) * spec.terminal.loss)
    return out


def test_the_bots_spec_is_the_bots_reward():
    spec = RewardSpec.model_validate(BOT_REWARD)
    rules = load_mode("classic")
    rug = np.arange(1, 800)
    bets = np.array([NO_BET, 200, 250, 400])
    for bet in bets:
        expected = training_reward(rules, np.full(rug.shape, bet), rug)
        pays = np.where(
            bet == NO_BET,
            spec.terminal.skip_reward(rug),
            np.where(rug <= bet + 40, spec.terminal.win, spec.terminal.loss),
        )
        assert np.array_equal(pays, expected)


@pytest.mark.parametrize("mode", ["classic", "rising_hazard"])
def test_the_solved_optimum_is_the_best_fixed_bet_tick(mode):
    spec = RewardSpec.model_validate(BOT_REWARD)
    values = brute_force(spec, mode)
    best = max(values, key=values.get)
    solution = solve(spec, load_mode(mode), gamma=1.0)
    first = int(np.flatnonzero(solution.bet)[0])
    assert first == best
    assert solution.value == pytest.approx(values[best], abs=1e-9)


def test_the_bots_reward_in_classic_bets_at_200_and_loses_what_the_closed_form_says():
    rules, tables = load_mode("classic"), RewardTables.of(load_mode("classic"))
    facts = money_of(solve(RewardSpec.model_validate(BOT_REWARD), rules, gamma=1.0).bet, tables)
    q = 1 - 0.005
    p_win = 1 - q**40
    assert facts.first_bet_tick == 200
    assert facts.bet_probability == pytest.approx(q**200, rel=1e-12)
    assert facts.win_rate == pytest.approx(p_win, rel=1e-12)
    assert facts.value == pytest.approx(q**200 * (5 * p_win - 1), rel=1e-9)  # -0.0336


@pytest.mark.parametrize("mode", ["classic", "rising_hazard", "fast_rug"])
@pytest.mark.parametrize("gamma", [1.0, 0.99])
def test_potential_shaping_keeps_the_optimum_and_shifts_the_value_by_phi_s0(mode, gamma):
    rules = load_mode(mode)
    tables = RewardTables.of(rules)
    for base in (RewardSpec.model_validate(BOT_REWARD), RewardSpec(terminal=Terminal(win=4))):
        plain = solve(base, rules, gamma=gamma, tables=tables)
        shaped = solve(base.model_copy(update={"shaping": Shaping(gamma=gamma)}), rules,
                       gamma=gamma, tables=tables)  # fmt: skip
        assert np.array_equal(plain.bet, shaped.bet)
        assert shaped.value == pytest.approx(plain.value - tables.value[0], abs=1e-9)


def test_paid_expected_value_at_gamma_1_is_the_oracle():
    for mode in ("classic", "rising_hazard", "fast_rug"):
        rules = load_mode(mode)
        tables = RewardTables.of(rules)
        spec = RewardSpec(terminal=Terminal(win=0, loss=0), paid_expected_value=1.0)
        solution = solve(spec, rules, gamma=1.0, tables=tables)
        assert solution.value == pytest.approx(tables.value[0], abs=1e-12)


def test_the_computer_pays_shaping_that_telescopes_to_minus_phi_s0():
    rules = load_mode("rising_hazard")
    tables = RewardTables.of(rules)
    plain = RewardSpec(terminal=Terminal(win=4, loss=-1))
    shaped = plain.model_copy(update={"shaping": Shaping(gamma=1.0)})
    n, ticks = 3, 400
    a, b = RewardComputer(plain, n, tables), RewardComputer(shaped, n, tables)
    rug = np.array([150, 230, 400])
    total_a, total_b = np.zeros(n), np.zeros(n)
    for t in range(ticks):
        obs = np.zeros((n, 15))
        obs[:, 0] = t
        alive = t < rug
        act = np.where(t == 220, 1, 0)
        done = alive & (t + 1 >= rug)
        total_a += np.where(alive, a.step(obs, np.full(n, act), done, rug), 0)
        total_b += np.where(alive, b.step(obs, np.full(n, act), done, rug), 0)
        a.bet_tick[~alive] = NO_BET
        b.bet_tick[~alive] = NO_BET
    assert np.allclose(total_b, total_a - tables.value[0])
    assert list(total_a) == [0.0, 4.0, -1.0]  # no bet; won (rug 230 <= 260); lost


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"terminal": {"skip": [{"min_ticks": 0, "max_ticks": 250, "reward": -1},
                                {"min_ticks": 200, "reward": -1}]}}, ("terminal", "skip")),
        ({"terminal": {"skip": [{"min_ticks": 300, "max_ticks": 200, "reward": -1}]}},
         ("terminal", "skip", 0)),
        ({"steps": [{"name": "x", "reward": 1, "when": [{"field": "mood", "op": ">"}]}]},
         ("steps", 0, "when", 0, "field")),
        ({"terminal": {"win": 0, "loss": 0}}, ()),
        ({"terminal": {"bonus": 1}}, ("terminal", "bonus")),
    ],
)  # fmt: skip
def test_bad_specs_name_the_field(spec, field):
    with pytest.raises(ValidationError) as info:
        RewardSpec.model_validate(spec)
    assert tuple(info.value.errors()[0]["loc"]) == field


def test_a_bound_beyond_float32_compares_without_overflow():
    """Observations are float32; a finite bound such as -1e235 (found by fuzzing
    /v1/rewards/review) is compared as itself, with no overflow warning."""
    from game.reward_spec import Condition

    column = np.array([1.0, 2.0], np.float32)
    assert not Condition(field="running_peak", op="<=", value=-1e235).holds(column).any()
    assert Condition(field="running_peak", op="<", value=1e235).holds(column).all()
