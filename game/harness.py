"""Paired A/B harness: several policies over the same seeded rounds.

Every policy plays identical rounds (common random numbers), so differences between
policies are measured on paired rounds: the 95 % interval of a difference is a
t-interval on the per-round paired differences, far tighter than comparing two means.
PnL is always SOL under the mode's true economics, never a training reward.

The sidebet env is evaluated in batches: until a policy bets, the sidebet columns of its
observations are the same in every round (no bet open), and after its one bet nothing it
does matters, so a policy with `act_batch` is asked once about all ticks >= 200 of a
chunk of rounds and its bet is its first BET. Policies without `act_batch` are stepped
tick by tick (reset per round), with the same result as `SidebetV1Env`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
from scipy import stats

from game.bots import BET, Policy
from game.observation import BET_START_TICK, round_observations
from game.oracle import sidebet_ev_by_tick
from game.rules import GameRules
from game.sidebets import NO_BET, default_stake, sidebet_pnl, training_reward
from game.simulator import simulate_rounds, simulate_rug_ticks


@dataclass(frozen=True)
class PolicyStats:
    """One policy's results; `win_rate` is over the rounds it played (bet or traded)."""

    name: str
    n_rounds: int
    mean_pnl: float
    ci95: tuple[float, float]
    std_pnl: float
    total_pnl: float
    win_rate: float
    bet_rate: float
    max_drawdown: float
    expected_pnl: float | None = None
    mean_training_reward: float | None = None


@dataclass(frozen=True)
class PairStats:
    """Mean of `a - b` per round over paired rounds, with its 95 % t-interval."""

    a: str
    b: str
    mean_diff: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class ABReport:
    mode: str
    env: str
    seed: int
    n_rounds: int
    policies: dict[str, PolicyStats]
    pairs: list[PairStats]
    pnl: dict[str, np.ndarray] = field(repr=False)

    def pair(self, a: str, b: str) -> PairStats:
        """The paired comparison a - b (either order of a stored pair)."""
        for p in self.pairs:
            if (p.a, p.b) == (a, b):
                return p
            if (p.a, p.b) == (b, a):
                return PairStats(a, b, -p.mean_diff, (-p.ci95[1], -p.ci95[0]))
        raise KeyError(f"no pair {a!r} / {b!r}")

    def table(self) -> str:
        """A plain-text table of the policies, best mean PnL first."""
        rows = [
            f"{'policy':<16} {'mean PnL':>10} {'95% CI':>22} {'win rate':>9} "
            f"{'bet rate':>9} {'max DD':>9}"
        ]
        for s in sorted(self.policies.values(), key=lambda s: -s.mean_pnl):
            ci = f"[{s.ci95[0]:+.4f}, {s.ci95[1]:+.4f}]"
            win = "-" if np.isnan(s.win_rate) else f"{s.win_rate:.1%}"
            rows.append(
                f"{s.name:<16} {s.mean_pnl:>+10.4f} {ci:>22} {win:>9} "
                f"{s.bet_rate:>9.1%} {s.max_drawdown:>9.2f}"
            )
        return "\n".join(rows)


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """Mean and its t-interval (NaN bounds with fewer than two values)."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, (float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return mean, (mean - half, mean + half)


def max_drawdown(pnl: np.ndarray) -> float:
    """Largest fall of cumulative PnL from a previous high (starting from 0), in SOL."""
    equity = np.concatenate([[0.0], np.cumsum(pnl)])
    return float(np.max(np.maximum.accumulate(equity) - equity))


def run_ab(
    policies: Sequence[Policy],
    rules: GameRules,
    n_rounds: int,
    seed: int,
    env: Literal["sidebet", "trading"] = "sidebet",
    *,
    stake: float | None = None,
    chunk: int = 500,
    bet_start_tick: int = BET_START_TICK,
) -> ABReport:
    """Play rounds 0..n_rounds-1 of `seed` with every policy and compare them."""
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be unique: {names}")
    if n_rounds < 1:
        raise ValueError("n_rounds must be >= 1")
    extra: dict[str, dict[str, float]] = {n: {} for n in names}
    if env == "sidebet":
        stake = default_stake(rules) if stake is None else stake
        bet_ticks = _sidebet_bets(policies, rules, n_rounds, seed, chunk, bet_start_tick)
        rug = simulate_rug_ticks(rules, n_rounds, seed)
        ev = sidebet_ev_by_tick(rules)
        pnl, played = {}, {}
        for name, bet in bet_ticks.items():
            pnl[name] = sidebet_pnl(rules, bet, rug, stake)
            played[name] = bet != NO_BET
            expected = np.where(played[name], stake * ev[np.maximum(bet, 0)], 0.0)
            extra[name] = {
                "expected_pnl": float(expected.mean()),
                "mean_training_reward": float(training_reward(rules, bet, rug).mean()),
            }
    elif env == "trading":
        pnl, played = _trading(policies, rules, n_rounds, seed)
    else:
        raise ValueError(f"env must be 'sidebet' or 'trading', got {env!r}")

    summary = {}
    for name in names:
        mean, ci = mean_ci(pnl[name])
        n_played = int(played[name].sum())
        wins = int((pnl[name][played[name]] > 0).sum())
        summary[name] = PolicyStats(
            name=name,
            n_rounds=n_rounds,
            mean_pnl=mean,
            ci95=ci,
            std_pnl=float(pnl[name].std(ddof=1)) if n_rounds > 1 else float("nan"),
            total_pnl=float(pnl[name].sum()),
            win_rate=wins / n_played if n_played else float("nan"),
            bet_rate=n_played / n_rounds,
            max_drawdown=max_drawdown(pnl[name]),
            **extra[name],
        )
    pairs = []
    for a, b in combinations(names, 2):
        diff, ci = mean_ci(pnl[a] - pnl[b])
        pairs.append(PairStats(a, b, diff, ci))
    return ABReport(rules.name, env, seed, n_rounds, summary, pairs, pnl)


def _sidebet_bets(
    policies: Sequence[Policy],
    rules: GameRules,
    n_rounds: int,
    seed: int,
    chunk: int,
    bet_start_tick: int,
) -> dict[str, np.ndarray]:
    """Each policy's bet tick per round (`NO_BET` if none), chunk by chunk of rounds."""
    out = {p.name: np.full(n_rounds, NO_BET, dtype=np.int64) for p in policies}
    for start in range(0, n_rounds, chunk):
        rounds = simulate_rounds(rules, min(chunk, n_rounds - start), seed, first_round=start)
        obs = round_observations(rounds.prices, bet_start_tick=bet_start_tick)
        ticks = np.arange(obs.shape[1])
        allowed = (ticks[None, :] >= bet_start_tick) & (ticks[None, :] < rounds.rug_tick[:, None])
        row, tick = np.nonzero(allowed)  # row-major: each round's ticks in increasing order
        flat = obs[row, tick]
        for policy in policies:
            bets = out[policy.name][start : start + len(rounds)]
            if hasattr(policy, "act_batch"):
                chosen = np.asarray(policy.act_batch(flat)) == BET
                first = np.full(len(rounds), np.iinfo(np.int64).max)
                np.minimum.at(first, row[chosen], tick[chosen])
                bets[:] = np.where(first == np.iinfo(np.int64).max, NO_BET, first)
            else:
                for i in range(len(rounds)):
                    bets[i] = _first_bet(policy, obs[i, : rounds.rug_tick[i]], bet_start_tick)
    return out


def _first_bet(policy: Policy, round_obs: np.ndarray, bet_start_tick: int) -> int:
    """Step one round's observations through a policy until its first allowed BET."""
    policy.reset()
    for tick, obs in enumerate(round_obs):
        if policy.act(obs) == BET and tick >= bet_start_tick:
            return tick
    return NO_BET


def _trading(
    policies: Sequence[Policy], rules: GameRules, n_rounds: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """PnL per round in `TradingEnv`; a round counts as played if the policy traded."""
    from game.envs import TradingEnv  # gymnasium (the `rl` extra) only for this env

    pnl, played = {}, {}
    for policy in policies:
        env = TradingEnv(rules, seed=seed)
        pnl[policy.name] = np.zeros(n_rounds)
        played[policy.name] = np.zeros(n_rounds, dtype=bool)
        for i in range(n_rounds):
            obs, _ = env.reset(options={"round_index": i})
            policy.reset()
            terminated = False
            while not terminated:
                obs, _, terminated, _, info = env.step(policy.act(obs))
            pnl[policy.name][i] = info["pnl"]
            played[policy.name][i] = bool(env.trades)
    return pnl, played
