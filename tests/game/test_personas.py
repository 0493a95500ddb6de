from __future__ import annotations

import numpy as np
import pytest

from game.personas import BUY, PERSONAS, SELL, make_players, simulate_players
from game.rules import load_mode
from game.simulator import simulate_rounds

CLASSIC = load_mode("classic")


@pytest.fixture(scope="module")
def played():
    rounds = simulate_rounds(CLASSIC, 600, seed=21)
    players = make_players(20, seed=21)
    return rounds, players, simulate_players(CLASSIC, rounds, players)


def _of(players, persona):
    return [i for i, p in enumerate(players) if p.persona == persona]


def test_players_are_deterministic_and_cover_every_persona():
    players = make_players(20, seed=4)
    assert players == make_players(20, seed=4)
    assert players != make_players(20, seed=5)
    assert set(PERSONAS) == {p.persona for p in players[: len(PERSONAS)]}
    assert len({p.player_id for p in players}) == 20
    chosen = make_players(3, 1, ["whale", "whale"])
    assert [p.persona for p in chosen[:2]] == ["whale", "whale"] and len(chosen) == 3
    with pytest.raises(ValueError, match="unknown personas"):
        make_players(2, 1, ["gambler"])


def test_same_seed_same_activity_and_batches_do_not_matter(played):
    rounds, players, activity = played
    again = simulate_players(CLASSIC, rounds, players)
    for name in ("row", "tick", "player", "kind", "amount", "qty", "price"):
        assert np.array_equal(getattr(activity.trades, name), getattr(again.trades, name))
    first = simulate_players(CLASSIC, simulate_rounds(CLASSIC, 250, seed=21), players)
    second = simulate_players(
        CLASSIC,
        simulate_rounds(CLASSIC, 350, seed=21, first_round=250),
        players,
        leader=first.leader,
    )
    assert np.allclose(np.vstack([first.pnl, second.pnl]), activity.pnl)
    assert len(first.trades) + len(second.trades) == len(activity.trades)


def test_trades_are_priced_from_the_chart_and_positions_close_at_the_rug(played):
    rounds, _, activity = played
    t = activity.trades
    assert len(t) > 5000
    rug = rounds.rug_tick[t.row]
    assert np.all(t.tick <= rug)
    live = ~t.forced
    assert np.all(t.tick[live] < rug[live])
    assert np.array_equal(t.price[live], rounds.prices[t.row[live], t.tick[live]])
    assert np.all(t.tick[t.forced] == rug[t.forced]) and np.all(
        t.price[t.forced] == CLASSIC.rug_price
    )
    assert np.all(t.kind[t.forced] == SELL)
    buys = t.kind == BUY
    assert np.all((t.amount[buys] >= CLASSIC.min_bet) & (t.amount[buys] <= CLASSIC.max_bet))
    assert np.allclose(t.qty * t.price, t.amount)  # commission 0 in classic
    net = np.zeros((len(rounds), 20))
    np.add.at(net, (t.row, t.player), np.where(buys, t.qty, -t.qty))
    assert np.allclose(net, 0.0)  # nothing is held after the rug
    # ordered by (row, tick): the recording writes them in this order
    assert np.all(np.diff(t.row * 10_000 + t.tick) >= 0)


def test_commission_is_charged_on_both_sides():
    rules = CLASSIC.model_copy(update={"commission": 0.0025})
    rounds = simulate_rounds(rules, 100, seed=2)
    t = simulate_players(rules, rounds, make_players(10, seed=2)).trades
    buys = t.kind == BUY
    assert np.allclose(t.qty[buys] * t.price[buys], t.amount[buys] * 0.9975)
    assert np.allclose(t.qty[~buys] * t.price[~buys] * 0.9975, t.amount[~buys])


def test_persona_behaviour(played):
    rounds, players, activity = played
    t = activity.trades
    for i in _of(players, "early_seller"):
        target = players[i].params["target"]
        mine = t.player == i
        for row in np.unique(t.row[mine & ~t.forced & (t.kind == SELL)]):
            entry = t.price[mine & (t.row == row) & (t.kind == BUY)][0]
            sold = t.price[mine & (t.row == row) & (t.kind == SELL)][0]
            assert sold >= entry * target
    diamond = np.isin(t.player, _of(players, "diamond_hands")) & (t.kind == SELL)
    assert t.forced[diamond].mean() > 0.8
    for i in _of(players, "dip_buyer"):
        dip = players[i].params["dip"]
        for row, tick, price in zip(
            *(a[(t.player == i) & (t.kind == BUY)] for a in (t.row, t.tick, t.price)), strict=True
        ):
            assert price <= (1 - dip) * np.max(rounds.prices[row, :tick]) + 1e-12
    copier = _of(players, "copy_trader")[0]
    copies = t.player == copier
    followable = [i for i, p in enumerate(players) if p.persona != "copy_trader"]
    assert copies.sum() > 20
    delay = int(players[copier].params["delay"])
    for row, tick in zip(
        t.row[copies & ~t.forced][:50], t.tick[copies & ~t.forced][:50], strict=True
    ):
        leader_ticks = t.tick[(t.row == row) & ~t.forced & np.isin(t.player, followable)]
        assert tick - delay in leader_ticks


def test_sidebets_follow_the_rules(played):
    rounds, players, activity = played
    s = activity.sidebets
    rug = rounds.rug_tick[s.row]
    assert len(s) > 1000
    assert np.all(s.start_tick < rug)
    assert np.array_equal(s.won, rug <= s.start_tick + 40)  # classic: window end inclusive
    assert np.allclose(s.payout, np.where(s.won, s.amount * 5, 0.0))
    assert np.array_equal(s.end_tick, s.start_tick + 40)
    # one active sidebet at a time per player, with the cooldown between them
    for i in _of(players, "sidebet_regular"):
        mine = s.player == i
        for row in np.unique(s.row[mine])[:200]:
            starts = s.start_tick[mine & (s.row == row)]
            resolves = s.resolve_tick[mine & (s.row == row)]
            assert np.all(starts[1:] >= resolves[:-1] + CLASSIC.sidebet_cooldown_ticks)
    p = 1 - 0.995**40
    assert abs(s.won.mean() - p) < 3.5 * np.sqrt(p * (1 - p) / len(s))


def test_profit_semantics_pay_six_times_the_stake():
    rules = load_mode("profit_payout")
    rounds = simulate_rounds(rules, 200, seed=9)
    s = simulate_players(rules, rounds, make_players(10, seed=9)).sidebets
    assert s.won.any()
    assert np.allclose(s.payout[s.won], 6 * s.amount[s.won])
    assert np.allclose(s.profit[s.won], 5 * s.amount[s.won])


@pytest.mark.parametrize("mode", ["fast_rug", "high_volatility", "rising_hazard"])
def test_every_mode_settles_cleanly(mode):
    rules = load_mode(mode)
    rounds = simulate_rounds(rules, 150, seed=6)
    activity = simulate_players(rules, rounds, make_players(14, seed=6))
    t = activity.trades
    assert len(t) > 0 and np.isfinite(t.amount).all() and np.isfinite(t.qty).all()
    net = np.zeros((len(rounds), 14))
    np.add.at(net, (t.row, t.player), np.where(t.kind == BUY, t.qty, -t.qty))
    assert np.allclose(net, 0.0)
    assert np.isfinite(activity.pnl).all()
