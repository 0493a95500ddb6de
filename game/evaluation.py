"""A policy scored on the game's true economics, on a fixed set of held-out rounds.

What a learning curve plots and a curriculum ranks: PnL per round (SOL at 1 SOL a
sidebet), the win rate of placed bets, bets per round, each with its 95 % interval,
and, in the sidebet env, the regret against the oracle. The oracle is exact (the rug
ignores the chart), so both the policy's and the oracle's PnL are also taken in
expectation given the tick each bet was placed at (`expected_pnl`), which removes the
outcome noise (about 2 SOL per bet); regret is the mean of the per-round paired
differences oracle - policy of those expectations, with its t-interval.

Rounds are those a `Scenario` keeps, in index order of the seed (the same rounds the
envs play); a policy is asked about every tick it could bet at in one batch (`act_batch`),
as the A/B harness does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from scipy import stats

from game.batch_envs import TradingBatch
from game.bots import BET
from game.harness import mean_ci
from game.observation import BET_START_TICK, round_observations
from game.oracle import optimal_bet_ticks
from game.scenarios import Scenario
from game.sidebets import NO_BET, default_stake, sidebet_pnl
from game.simulator import keys_of, rug_ticks_of, simulate_keys

NO_ORACLE = "no exact oracle for the trading env: PnL figures only"


class BatchPolicy(Protocol):
    name: str

    def act_batch(self, observations: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % interval (NaN bounds when it cannot be estimated)."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        if len(values) == 0:
            return cls(float("nan"), float("nan"), float("nan"))
        mean, (low, high) = mean_ci(values)
        return cls(float(mean), float(low), float(high))

    @classmethod
    def proportion(cls, successes: int, n: int) -> Estimate | None:
        """Wilson's 95 % interval (None without trials)."""
        if n == 0:
            return None
        z = float(stats.norm.ppf(0.975))
        p = successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return cls(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class Evaluation:
    """One policy on `n_rounds` held-out rounds of a scenario (SOL per round)."""

    env: str
    scenario: str
    seed: int
    n_rounds: int
    pnl: Estimate
    win_rate: Estimate | None
    bets_per_round: Estimate
    expected_pnl: Estimate | None = None
    oracle_value: float | None = None
    regret: Estimate | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN, which JSON lacks, becomes null)."""
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def scenario_rounds(scenario: Scenario, n_rounds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, rug ticks) of the first `n_rounds` rounds of `seed` the scenario keeps."""
    keys, rugs, start = [], [], 0
    found = 0
    while found < n_rounds:
        span = int((n_rounds - found) / scenario.acceptance * 1.2) + 16
        k = keys_of(np.full(span, seed), np.arange(start, start + span))
        r = rug_ticks_of(scenario.rules, k)
        kept = scenario.keeps(r)
        keys.append(k[kept])
        rugs.append(r[kept])
        found += int(kept.sum())
        start += span
    return np.concatenate(keys)[:n_rounds], np.concatenate(rugs)[:n_rounds]


class SidebetHeldOut:
    """Held-out rounds of a scenario prepared once (the observations at every tick a
    policy could bet at), so that scoring a policy again, as a learning curve does every
    N steps, costs only its forward pass."""

    def __init__(
        self,
        scenario: Scenario,
        n_rounds: int,
        seed: int,
        *,
        stake: float | None = None,
        chunk: int = 400,
        bet_start_tick: int = BET_START_TICK,
    ) -> None:
        self.scenario, self.n_rounds, self.seed = scenario, n_rounds, seed
        rules = scenario.rules
        self.stake = default_stake(rules) if stake is None else stake
        self.ev = scenario.sidebet_ev()
        self.bet_start_tick = bet_start_tick
        first_tick = max(bet_start_tick, scenario.start_tick)
        keys, self.rug = scenario_rounds(scenario, n_rounds, seed)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, n_rounds, chunk):
            rows = slice(start, min(start + chunk, n_rounds))
            obs = round_observations(simulate_keys(rules, keys[rows], self.rug[rows])[0])
            ticks = np.arange(obs.shape[1])
            allowed = (ticks[None, :] >= first_tick) & (ticks[None, :] < self.rug[rows, None])
            row, tick = np.nonzero(allowed)  # row-major: each round's ticks in order
            parts.append((obs[row, tick], row + start, tick))
        self.obs = np.concatenate([p[0] for p in parts])
        self.row = np.concatenate([p[1] for p in parts])
        self.tick = np.concatenate([p[2] for p in parts])
        oracle_bets = optimal_bet_ticks(rules, bet_start_tick, hazard=scenario.hazard_curve)
        later = np.flatnonzero(oracle_bets[scenario.start_tick :])
        self.oracle_value = scenario.oracle_value(bet_start_tick=bet_start_tick)
        self.oracle = np.zeros(n_rounds)
        if later.size:
            oracle_tick = scenario.start_tick + int(later[0])
            self.oracle = np.where(self.rug > oracle_tick, self.stake * self.ev[oracle_tick], 0.0)

    def bet_ticks(self, policy: BatchPolicy) -> np.ndarray:
        """Each round's bet tick under the policy (`NO_BET`: none)."""
        if len(self.obs) == 0:
            return np.full(self.n_rounds, NO_BET, dtype=np.int64)
        chosen = np.asarray(policy.act_batch(self.obs)) == BET
        first = np.full(self.n_rounds, np.iinfo(np.int64).max)
        np.minimum.at(first, self.row[chosen], self.tick[chosen])
        return np.where(first == np.iinfo(np.int64).max, NO_BET, first)

    def score(self, policy: BatchPolicy) -> Evaluation:
        bet = self.bet_ticks(policy)
        placed = bet != NO_BET
        pnl = sidebet_pnl(self.scenario.rules, bet, self.rug, self.stake)
        expected = np.where(placed, self.stake * self.ev[np.maximum(bet, 0)], 0.0)
        return Evaluation(
            env="sidebet_v1",
            scenario=self.scenario.id,
            seed=self.seed,
            n_rounds=self.n_rounds,
            pnl=Estimate.of(pnl),
            win_rate=Estimate.proportion(int((pnl[placed] > 0).sum()), int(placed.sum())),
            bets_per_round=Estimate.of(placed.astype(float)),
            expected_pnl=Estimate.of(expected),
            oracle_value=self.stake * self.oracle_value,
            regret=Estimate.of(self.oracle - expected),
        )


def evaluate_sidebet(
    policy: BatchPolicy, scenario: Scenario, n_rounds: int, seed: int, **kwargs: Any
) -> Evaluation:
    """The policy in `SidebetV1Env` under the scenario: its bet is its first BET from
    the first tick it may bet at (the env ignores the rest)."""
    return SidebetHeldOut(scenario, n_rounds, seed, **kwargs).score(policy)


def evaluate_trading(
    policy: BatchPolicy, scenario: Scenario, n_rounds: int, seed: int, *, n_envs: int = 64
) -> Evaluation:
    """The policy in `TradingEnv` under the scenario: env i of a batch plays the rounds
    of seed `seed + i`; the first `n_rounds` finished episodes (in env order) count."""
    n_envs = min(n_envs, n_rounds)
    per_env = -(-n_rounds // n_envs)
    batch = TradingBatch(scenario.rules, n_envs, seed, scenario=scenario)
    obs = batch.reset()
    pnl: list[list[float]] = [[] for _ in range(n_envs)]
    trades: list[list[int]] = [[] for _ in range(n_envs)]
    while min(len(p) for p in pnl) < per_env:
        step = batch.step(np.asarray(policy.act_batch(obs)))
        for k, i in enumerate(np.flatnonzero(step.done)):
            pnl[i].append(step.info[k]["pnl"])
            trades[i].append(step.info[k]["trades"])
        obs = step.obs
    money = np.array([x for p in pnl for x in p[:per_env]])[:n_rounds]
    count = np.array([x for t in trades for x in t[:per_env]])[:n_rounds]
    played = count > 0
    return Evaluation(
        env="trading",
        scenario=scenario.id,
        seed=seed,
        n_rounds=n_rounds,
        pnl=Estimate.of(money),
        win_rate=Estimate.proportion(int((money[played] > 0).sum()), int(played.sum())),
        bets_per_round=Estimate.of(count.astype(float)),
        note=NO_ORACLE,
    )


def evaluate(
    policy: BatchPolicy, env: str, scenario: Scenario, n_rounds: int, seed: int
) -> Evaluation:
    if env == "sidebet_v1":
        return evaluate_sidebet(policy, scenario, n_rounds, seed)
    if env == "trading":
        return evaluate_trading(policy, scenario, n_rounds, seed)
    raise ValueError(f"unknown env {env!r}")
