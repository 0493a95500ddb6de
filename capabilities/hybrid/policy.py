"""The hybrid RL+agent policy (capability 10): pass the RL action through unless the
moment is critical and the models are confident it is wrong.

A moment is critical when the expected-value engine finds that the RL action loses
more than `min_loss` SOL against the best action with probability at least
`critical_confidence`, or when a hard risk rule fires (a price spike, a sidebet window
about to close, liquidation close under leverage) while the RL action is not the best.
The override replaces the RL action by the best one only when the confidence reaches
`override_confidence`. Confidence comes from the models' uncertainty: the expected loss
is evaluated under five parameter scenarios (`ev`), their spread read as a 95 % interval
of a normal estimate. No I/O and no language model here: this is the real-time path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capabilities.engines.game_models.ev import ACTIONS, Decision, Position, evaluate
from capabilities.engines.game_models.registry import ModelSet


@dataclass(frozen=True)
class Thresholds:
    """Settings of the hybrid (tuned by bench/tune_hybrid.py on simulated rounds)."""

    min_loss: float = 0.0  # SOL the RL action must lose against the best to matter
    critical_confidence: float = 0.9  # tuned: bench/tune_hybrid.py
    override_confidence: float = 0.8
    spike_ratio: float = 2.0  # price at least doubled ...
    spike_ticks: int = 5  # ... within this many ticks
    window_edge_ticks: int = 3  # a sidebet window this close to closing, or to opening
    liquidation_margin: float = 0.5  # share of the liquidation distance left
    rank_margin: float = 0.1  # a top-3 lead over the next player under this share of PnL
    whale_sol: float = 0.5  # a sell (or a held position, in SOL) at least this large is a whale's
    whale_sell_probability: float = 0.5  # the opponent model's P(whale sells within spike_ticks)


@dataclass(frozen=True)
class HybridInput:
    position: Position
    rl_action: str
    recent_prices: Sequence[float] | None = None
    leverage: int = 1
    avg_cost: float | None = None
    stake: float | None = None
    one_sidebet_per_round: bool = True  # the bot's SidebetV1Env allows one bet a round
    allowed: tuple[str, ...] = ACTIONS  # the bot's action space
    player_id: str | None = None  # the bot's id on the leaderboard
    leaderboard: Sequence[tuple[str, float]] = ()  # (player id, PnL), best first
    recent_trades: Sequence[tuple[int, str, float]] = ()  # (tick, type, SOL) of others
    # leaderboard players holding: (player id, qty, average cost or None)
    holders: Sequence[tuple[str, float, float | None]] = ()


# (player id, tick, price, qty, avg cost, horizon) -> P(sells within horizon) or None
SellForecast = Callable[[str, int, float, float, float | None, int], float | None]


@dataclass(frozen=True)
class HybridDecision:
    action: str
    source: str  # rl | agent
    critical: bool
    reason: str
    confidence: float  # that the best action beats the RL action by more than min_loss
    expected_loss: float  # SOL the RL action gives up against the best (estimate)
    best_action: str
    rules: tuple[str, ...]


def _confidence(diffs: list[float], min_loss: float) -> float:
    """P(true loss > min_loss) under a normal whose 95 % interval spans the scenarios."""
    est = diffs[0]
    sd = (max(diffs) - min(diffs)) / (2 * 1.959963984540054)
    if sd <= 1e-15:
        return 1.0 if est > min_loss else 0.0
    return 0.5 * (1 + math.erf((est - min_loss) / (sd * math.sqrt(2))))


def hard_rules(
    item: HybridInput, models: ModelSet, t: Thresholds, forecast: SellForecast | None = None
) -> list[str]:
    """Risk rules that make a moment worth a second look, whatever the models say."""
    fired = []
    prices = list(item.recent_prices or ())
    recent = prices[-(t.spike_ticks + 1) :]
    if len(recent) >= 2 and min(recent) > 0 and max(recent) / min(recent) >= t.spike_ratio:
        fired.append(
            f"price spike: x{max(recent) / min(recent):.2f} within {len(recent) - 1} ticks"
        )
    start = item.position.sidebet_start_tick
    if start is not None:
        closes = start + models.economics.sidebet_span
        opens = closes + models.economics.sidebet_cooldown_ticks
        tick = item.position.tick
        if 0 <= closes - tick <= t.window_edge_ticks:
            fired.append(f"sidebet window closes in {closes - tick} ticks")
        elif closes < tick and 0 < opens - tick <= t.window_edge_ticks:
            fired.append(f"sidebet window opens in {opens - tick} ticks")
    fired.extend(_competition_rules(item, t, forecast))
    if item.leverage > 1 and item.avg_cost and item.position.position_qty > 0:
        from game.rules import load_mode  # liquidation thresholds are rules of the mode

        drawdown = load_mode(models.mode).liquidation.get(item.leverage)
        if drawdown:
            fall = 1 - item.position.price / item.avg_cost
            if fall >= drawdown * (1 - t.liquidation_margin):
                fired.append(
                    f"liquidation near: down {fall:.1%} of {drawdown:.1%} at {item.leverage}x"
                )
    return fired


def _competition_rules(
    item: HybridInput, t: Thresholds, forecast: SellForecast | None
) -> list[str]:
    fired = []
    ids = [player for player, _ in item.leaderboard]
    if item.player_id in ids[:3]:
        rank = ids.index(item.player_id)
        if rank + 1 < len(ids):
            ours, theirs = item.leaderboard[rank][1], item.leaderboard[rank + 1][1]
            if ours - theirs <= t.rank_margin * max(abs(ours), 1e-9):
                fired.append(
                    f"top-3 place under threat: #{rank + 1} leads #{rank + 2} by "
                    f"{ours - theirs:.4g} SOL"
                )
    recent = item.position.tick - t.spike_ticks
    whales = [sol for tick, kind, sol in item.recent_trades
              if kind == "sell" and sol >= t.whale_sol and tick >= recent]  # fmt: skip
    if whales:
        fired.append(f"whale selling: {max(whales):.4g} SOL sold within {t.spike_ticks} ticks")
    elif forecast is not None:  # a whale about to sell, by the opponent model
        price = item.position.price
        for player, qty, avg_cost in item.holders:
            if qty * price < t.whale_sol or player == item.player_id:
                continue
            p = forecast(player, item.position.tick, price, qty, avg_cost, t.spike_ticks)
            if p is not None and p >= t.whale_sell_probability:
                fired.append(
                    f"whale selling: {player[-8:]} holding {qty * price:.4g} SOL sells within "
                    f"{t.spike_ticks} ticks with p={p:.2f} (opponent model)"
                )
                break
    return fired


def decide(
    item: HybridInput,
    models: ModelSet,
    thresholds: Thresholds,
    forecast: SellForecast | None = None,
) -> HybridDecision:
    """`forecast` (no I/O: an in-memory model) lets the whale rule anticipate sells."""
    rl = item.rl_action
    stake = item.stake or models.economics.min_bet
    wait = models.wait_values(item.position.tick) if item.one_sidebet_per_round else None
    decision: Decision = evaluate(
        item.position, models.hazard, models.price, models.economics, stake, wait, item.allowed
    )
    best = decision.best
    rl_value = decision.value(rl)
    if not rl_value.available:  # the RL action cannot be played: the best available one is
        return HybridDecision(best, "agent", True, f"rl action unavailable: {rl_value.note}", 1.0,
                              0.0, best, ())  # fmt: skip
    best_runs = decision.value(best).scenarios
    diffs = [b - r for b, r in zip(best_runs, rl_value.scenarios, strict=True)]
    loss = diffs[0]
    confidence = _confidence(diffs, thresholds.min_loss) if best != rl else 0.0
    rules = tuple(hard_rules(item, models, thresholds, forecast))
    by_models = best != rl and confidence >= thresholds.critical_confidence
    critical = by_models or (bool(rules) and best != rl and loss > 0)
    if critical and best != rl and confidence >= thresholds.override_confidence:
        reason = f"{rl} loses {loss:.4g} SOL against {best} (confidence {confidence:.2f})"
        return HybridDecision(best, "agent", True, reason, confidence, loss, best, rules)
    if critical:
        reason = f"critical, but confidence {confidence:.2f} is under the override threshold"
    else:
        reason = "rl action kept: not a critical moment"
    return HybridDecision(rl, "rl", critical, reason, confidence, loss, best, rules)
