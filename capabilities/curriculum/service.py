"""Curriculum Learning (capability 6): the scenarios a bot should train on next.

Measured, not guessed, at every step:
- a scenario's difficulty for a bot is its regret against the scenario's exact oracle
  (SOL per round), estimated from the bot's own episodes: each episode is worth the
  sidebet's expected value at the tick the bot bet (the rug ignores the chart), so the
  outcome noise of about 2 SOL per bet drops out;
- its learning potential is the regret that is falling: the weighted least-squares
  slope of the regret over the bot's training steps (in the spirit of prioritized level
  replay, whose scores are regret estimates);
- its relevance to the target mode is exact: the share of the target oracle's value kept
  by a policy that plays the scenario's optimum wherever the scenario shows the game
  (and the target's optimum before its first observed tick). A scenario whose optimum
  bets at other ticks teaches the bot something it must unlearn for the target; those
  below `min_relevance` are left out, with the reason.

Among the relevant scenarios the priority shares out env steps, not episodes: a
scenario's learning potential (falling regret first, then the regret level; a scenario
never measured counts at its oracle's value, the regret of a bot that earns nothing
there) is divided by its expected episode length (`per_step`, exact from its hazard
curve), because an episode observed from tick 0 spends 200 of its steps where no action
can matter. Reports are pooled until `min_episodes` episodes before they count (a window
of three episodes gives a ranking that follows noise). Rank-based weights, temperature
`temperature`, mixed with a staleness share `stale_share` (steps since trained, per
step of episode), no scenario above `max_share` of the steps; an env plays whole
episodes, so each scenario's share of episodes (`probability`, what the client draws)
is its step share over its episode length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from capabilities.curriculum.models import (
    CurriculumAnswer,
    CurriculumRequest,
    Estimate,
    ScenarioAdvice,
    ScenarioResult,
)
from game.observation import BET_START_TICK
from game.oracle import optimal_bet_ticks
from game.policy_net import NetPolicy
from game.scenarios import Scenario, scenario_grid

TREND_WINDOW = 6  # the latest measurements of a scenario its trend is fitted on
PER = 10_000  # trends are per 10k training steps


@dataclass(frozen=True)
class Measurement:
    step: int
    regret: float
    se: float
    episodes: int


@dataclass
class ScenarioState:
    """What is known of one scenario for one bot."""

    scenario: Scenario
    relevance: float
    measurements: list[Measurement]
    slope: float | None = None
    slope_se: float | None = None
    probability: float = 0.0
    step_share: float = 0.0
    steps_since_trained: int | None = None
    reason: str = ""

    @property
    def latest(self) -> Measurement | None:
        return self.measurements[-1] if self.measurements else None

    @property
    def potential(self) -> float:
        """Regret falling per 10k steps (0 when flat, rising or unknown)."""
        return max(0.0, -(self.slope or 0.0))


@lru_cache(maxsize=1024)
def relevance(scenario: Scenario, target: Scenario) -> float:
    """Share of the target oracle's value a policy keeps that plays the scenario's
    optimum from the scenario's first observed tick on (the target's before it)."""
    rules = target.rules
    target_bets = optimal_bet_ticks(rules, BET_START_TICK, hazard=target.hazard_curve)
    own = optimal_bet_ticks(scenario.rules, BET_START_TICK, hazard=scenario.hazard_curve)
    shown = np.arange(len(own)) >= scenario.start_tick
    played = np.where(shown, own, target_bets)
    best = target.oracle_value()
    lost = best - target.value_of_bets(played)
    return float(np.clip(1.0 - lost / max(best, 0.05), 0.0, 1.0))


def measure(result: ScenarioResult) -> Measurement:
    """The bot's regret on the scenario from its episodes' bet ticks (exact expectation
    per episode; the interval is over episodes)."""
    scenario = result.scenario
    ev = scenario.sidebet_ev()
    last = len(ev) - 1  # a mode with a lower tick cap: no round lives past it
    values = np.array([0.0 if t is None else ev[min(t, last)] for t in result.bet_ticks])
    regret = scenario.oracle_value() - values
    se = float(regret.std(ddof=1) / np.sqrt(len(regret))) if len(regret) > 1 else float("inf")
    return Measurement(result.step, float(regret.mean()), se, len(regret))


def evaluate_policy(
    policy: NetPolicy, scenario: Scenario, step: int, rounds: int, seed: int
) -> ScenarioResult:
    """A stored policy's bets on held-out rounds of a scenario, as a bot would report."""
    from game.evaluation import SidebetHeldOut

    bets = SidebetHeldOut(scenario, rounds, seed).bet_ticks(policy)
    ticks = [None if b < 0 else int(b) for b in bets]
    return ScenarioResult(scenario=scenario, step=step, bet_ticks=ticks)


def pool(reports: list[ScenarioResult], min_episodes: int) -> list[ScenarioResult]:
    """Consecutive reports of one scenario (oldest first) merged, from the latest back,
    until each holds `min_episodes` episodes; what is left at the oldest end joins the
    oldest group. A merged report sits at its episodes' mean training step."""
    groups: list[list[ScenarioResult]] = []
    current: list[ScenarioResult] = []
    for report in reversed(reports):
        current.append(report)
        if sum(len(r.bet_ticks) for r in current) >= min_episodes:
            groups.append(current)
            current = []
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    merged = []
    for group in reversed(groups):
        ticks = [t for r in reversed(group) for t in r.bet_ticks]
        step = sum(r.step * len(r.bet_ticks) for r in group) / len(ticks)
        merged.append(ScenarioResult(scenario=group[0].scenario, step=round(step), bet_ticks=ticks))
    return merged


def _trend(measurements: list[Measurement]) -> tuple[float | None, float | None]:
    """Weighted least-squares slope of regret per 10k steps, and its standard error."""
    points = measurements[-TREND_WINDOW:]
    steps = np.array([m.step for m in points], dtype=float) / PER
    if len(points) < 2 or np.ptp(steps) == 0:
        return None, None
    regret = np.array([m.regret for m in points])
    # a window of one episode has no spread (se inf), one of identical bets se 0: clamp
    se = np.clip(np.array([m.se for m in points]), 0.01, 10.0)
    w = 1.0 / se**2
    mean_x = np.average(steps, weights=w)
    sxx = float(np.sum(w * (steps - mean_x) ** 2))
    slope = float(np.sum(w * (steps - mean_x) * (regret - np.average(regret, weights=w))) / sxx)
    return slope, float(np.sqrt(1.0 / sxx))


def _rank_weights(scores: list[float], temperature: float) -> np.ndarray:
    """Prioritized level replay's rank transform: h(rank) = (1 / rank) ** (1 / T), tied
    scores sharing their ranks' mean weight."""
    from scipy.stats import rankdata

    ranks = rankdata(-np.asarray(scores, dtype=float), method="ordinal")
    h = (1.0 / ranks) ** (1.0 / temperature)
    groups = rankdata(-np.asarray(scores, dtype=float), method="dense")
    for g in np.unique(groups):
        h[groups == g] = h[groups == g].mean()
    return h / h.sum()


def plan(
    request: CurriculumRequest,
    *,
    policy_results: Callable[[list[Scenario]], list[ScenarioResult]] | None = None,
) -> tuple[Scenario, list[ScenarioState]]:
    """Every scenario's state with its probability and reason, best first.

    `policy_results(scenarios)` measures the request's policy (when it names one)."""
    target = Scenario(mode=request.mode)
    scenarios = list(request.scenarios or scenario_grid(request.mode))
    known = {s.id for s in scenarios}
    for result in request.results:  # a reported scenario takes part even if not listed
        if result.scenario.id not in known:
            scenarios.append(result.scenario)
            known.add(result.scenario.id)
    states = {s.id: ScenarioState(s, relevance(s, target), []) for s in scenarios}
    results = list(request.results)
    if policy_results is not None:
        relevant = [s.scenario for s in states.values() if s.relevance >= request.min_relevance]
        results += policy_results(relevant)
    by_scenario: dict[str, list[ScenarioResult]] = {}
    for result in sorted(results, key=lambda r: r.step):
        by_scenario.setdefault(result.scenario.id, []).append(result)
    for sid, reports in by_scenario.items():
        states[sid].measurements = [measure(r) for r in pool(reports, request.min_episodes)]
    now = max((r.step for r in results), default=0)
    for state in states.values():
        state.slope, state.slope_se = _trend(state.measurements)
    chosen = [s for s in states.values() if s.relevance >= request.min_relevance]
    left_out = [s for s in states.values() if s.relevance < request.min_relevance]
    _prioritize(chosen, now, request)
    for s in left_out:
        s.reason = (
            f"left out: its optimal policy keeps only {s.relevance:.0%} of the target's "
            "oracle value, so training on it teaches bets the target punishes"
        )
    ordered = sorted(chosen, key=lambda s: -s.step_share) + sorted(
        left_out, key=lambda s: -s.relevance
    )
    return target, ordered


def _prioritize(states: list[ScenarioState], now: int, request: CurriculumRequest) -> None:
    if not states:
        return
    trending = any(s.potential > 0 for s in states)
    cost = np.array([s.scenario.episode_steps if request.per_step else 1.0 for s in states])
    # falling regret first (when any falls), then more regret; a scenario never measured
    # counts at its oracle's value, the regret of a bot that earns nothing there (the most
    # it can teach): optimistic, and exact, so a cold start already prefers the scenarios
    # with the most to learn per env step
    scores = [
        ((s.potential * 1e6 if trending else 0.0) + _regret_or_bound(s)) / c
        for s, c in zip(states, cost, strict=True)
    ]
    by_score = _rank_weights(scores, request.temperature)
    last = [max((m.step for m in s.measurements), default=None) for s in states]
    stale = np.array([now + PER if t is None else now - t for t in last], dtype=float)
    per_step = stale / cost  # a long episode costs more steps of staleness
    by_age = (
        per_step / per_step.sum() if per_step.sum() > 0 else np.full(len(states), 1 / len(states))
    )
    rho = request.stale_share
    steps = capped((1 - rho) * by_score + rho * by_age, request.max_share)
    # the priority shares out env steps; an env plays whole episodes, so a scenario's
    # share of episodes is its share of steps over its episode length
    probability = steps / cost / (steps / cost).sum()
    for state, p, q, s_score, age, seen in zip(
        states, probability, steps, by_score, stale, last, strict=True
    ):
        state.probability, state.step_share = float(p), float(q)
        state.steps_since_trained = None if seen is None else int(age)
        state.reason = _reason(state, float(s_score), float(age), trending, rho)


def _regret_or_bound(state: ScenarioState) -> float:
    return state.scenario.oracle_value() if state.latest is None else state.latest.regret


def capped(p: np.ndarray, cap: float) -> np.ndarray:
    """Probabilities with none above `cap` (at least 1/n), the excess shared among the
    others in proportion to their own."""
    cap = max(cap, 1.0 / len(p))
    p = p / p.sum()
    while (p > cap + 1e-12).any():
        over = p >= cap
        free = p[~over].sum()
        p = np.where(over, cap, p * (1.0 - cap * over.sum()) / free if free > 0 else p)
    return p


def _reason(
    state: ScenarioState, score_share: float, age: float, trending: bool, rho: float
) -> str:
    m = state.latest
    if m is None:
        return (
            f"never measured: ranked at its oracle's value {state.scenario.oracle_value():.4f} "
            f"SOL/round over {state.scenario.episode_steps:.0f} env steps an episode, the most "
            "it can teach"
        )
    parts = [
        f"regret {m.regret:.4f} SOL/round over {m.episodes} episodes of "
        f"{state.scenario.episode_steps:.0f} env steps on average"
    ]
    if state.slope is not None:
        direction = "falling" if state.slope < 0 else "not falling"
        parts.append(f"{direction} by {abs(state.slope):.4f} per 10k steps")
        if state.potential > 0:
            parts.append("learning potential: the bot is learning here")
    elif trending:
        parts.append("no trend yet (one measurement)")
    else:
        parts.append("no trend yet: ranked by regret, the room left to learn")
    parts.append(
        f"{score_share * (1 - rho):.0%} of the env steps from priority, "
        f"{int(age)} steps since trained"
    )
    return "; ".join(parts)


def advice(state: ScenarioState) -> ScenarioAdvice:
    m = state.latest
    regret = None
    if m is not None:
        half = 1.96 * m.se if np.isfinite(m.se) else None
        regret = Estimate(
            mean=m.regret,
            low=None if half is None else m.regret - half,
            high=None if half is None else m.regret + half,
        )
    return ScenarioAdvice(
        scenario=state.scenario,
        id=state.scenario.id,
        probability=round(state.probability, 6),
        step_share=round(state.step_share, 6),
        regret=regret,
        trend_per_10k_steps=state.slope,
        relevance=round(state.relevance, 4),
        steps_since_trained=state.steps_since_trained,
        reason=state.reason,
    )


METHOD = (
    "regret against each scenario's exact oracle from the bot's episodes (expected value "
    "of each bet at its tick), reports pooled to min_episodes; learning potential = falling "
    "regret (weighted least-squares slope over training steps), then regret, per env step "
    "of the scenario's episodes; rank-based priority over env steps with a staleness share "
    "and a cap per scenario, in the spirit of prioritized level replay; episode shares = "
    "step shares over episode lengths; scenarios whose optimum keeps less than "
    "min_relevance of the target oracle's value are left out"
)


def next_scenarios(
    request: CurriculumRequest,
    *,
    policy_results: Callable[[list[Scenario]], list[ScenarioResult]] | None = None,
) -> CurriculumAnswer:
    """The deterministic answer (what the runtime narrates when a model is configured)."""
    target, states = plan(request, policy_results=policy_results)
    chosen = [s for s in states if s.relevance >= request.min_relevance]
    left_out = [s for s in states if s.relevance < request.min_relevance]
    return CurriculumAnswer(
        mode=request.mode,
        target_oracle_value=target.oracle_value(),
        scenarios=[advice(s) for s in chosen[: request.count]],
        left_out=[advice(s) for s in left_out],
        method=METHOD,
    )
