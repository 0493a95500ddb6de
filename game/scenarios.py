"""Training scenarios: simulator settings a curriculum chooses from, and their exact oracle.

A scenario is a mode's rules with the rug hazard and the price volatility scaled, the
tick from which a round is observed (the env fast-forwards to it; the features still
cover the chart from tick 0, so what a policy sees at a tick is what it would see in the
full round) and the range of rug ticks kept (rounds outside it are skipped, which
conditions the rug distribution). The rug never looks at the chart, so every scenario's
rug hazard is a function of the tick alone and its oracle stays exact: `hazard_curve()`
is P(rug at t | alive at t-1) for the rounds the scenario keeps, and `Oracle(rules,
hazard=...)` solves the betting problem on it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from game.observation import BET_START_TICK
from game.oracle import Oracle, optimal_bet_ticks, sidebet_ev_by_tick
from game.rules import MODE_PATTERN, GameRules, available_modes, known_mode, load_mode

MIN_ACCEPTANCE = 1e-3
"""A scenario must keep at least this share of rounds (else an env would scan forever)."""


def _rule_broken(message: str) -> PydanticCustomError:
    """A rule across fields, which JSON Schema cannot state: the error type
    `cross_field` of `capabilities.engines.rules` (listed in `x-cross-field-rules`)."""
    return PydanticCustomError("cross_field", "{rule}", {"rule": message})


class Scenario(BaseModel):
    """Simulator settings of one training scenario (see module doc)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "x-cross-field-rules": [
                "some rug tick lies in [max(rug_min, start_tick + 1), rug_max]",
                f"the scenario keeps at least {MIN_ACCEPTANCE:g} of the mode's rounds",
            ]
        },
    )

    mode: Annotated[str, AfterValidator(known_mode)] = Field(
        "classic",
        description="the mode whose rules are scaled",
        pattern=MODE_PATTERN,
        json_schema_extra={"examples": available_modes(), "x-modes-listed-at": "/v1/modes"},
    )
    hazard_scale: float = Field(
        1.0, ge=0.01, le=10, description="multiplies rug_prob, hazard_slope and hazard_cap"
    )
    volatility_scale: float = Field(
        1.0, ge=0.01, le=3, description="multiplies the big-move sizes and the volatility term"
    )
    start_tick: int = Field(0, ge=0, le=4000, description="first tick observed (fast-forward)")
    rug_min: int = Field(1, ge=1, le=5000, description="rounds rugging earlier are skipped")
    rug_max: int | None = Field(
        None, ge=1, le=5000, description="rounds rugging later are skipped (none: no limit)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        lo, hi = self.rug_range
        if hi < lo:
            raise _rule_broken(f"no rug tick in [{lo}, {hi}] (start_tick {self.start_tick})")
        if self.acceptance < MIN_ACCEPTANCE:
            raise _rule_broken(
                f"only {self.acceptance:.2e} of {self.mode} rounds rug in [{lo}, {hi}]; "
                f"a scenario must keep at least {MIN_ACCEPTANCE:g}"
            )
        return self

    @property
    def id(self) -> str:
        """A stable readable name, e.g. `rising_hazard|h1|v1|s200|r201-`."""
        hi = "" if self.rug_max is None else str(self.rug_max)
        return (
            f"{self.mode}|h{self.hazard_scale:g}|v{self.volatility_scale:g}"
            f"|s{self.start_tick}|r{self.rug_min}-{hi}"
        )

    @property
    def rules(self) -> GameRules:
        return _scaled_rules(self.mode, self.hazard_scale, self.volatility_scale)

    @property
    def rug_range(self) -> tuple[int, int]:
        """Rug ticks kept, inclusive: alive at `start_tick`, within [rug_min, rug_max]."""
        top = self.rules.max_ticks if self.rug_max is None else self.rug_max
        return max(self.rug_min, self.start_tick + 1), min(top, self.rules.max_ticks)

    def keeps(self, rug_tick: np.ndarray) -> np.ndarray:
        lo, hi = self.rug_range
        rug_tick = np.asarray(rug_tick)
        return (rug_tick >= lo) & (rug_tick <= hi)

    @property
    def acceptance(self) -> float:
        """Share of the scaled mode's rounds the scenario keeps."""
        lo, hi = self.rug_range
        s = np.exp(_log_survival(self.mode, self.hazard_scale, self.volatility_scale))
        return float(s[lo - 1] - s[hi])

    @property
    def hazard_curve(self) -> np.ndarray:
        """P(rug at t | alive at t-1) for t = 1..max_ticks among the rounds kept (index
        t-1), the shape `rules.hazard(np.arange(1, max_ticks + 1))` has (read-only)."""
        lo, hi = self.rug_range
        return _hazard_curve(self.mode, self.hazard_scale, self.volatility_scale, lo, hi)

    def oracle(self, *, bet_start_tick: int = BET_START_TICK, name: str = "oracle") -> Oracle:
        hazard = self.hazard_curve
        return Oracle(self.rules, bet_start_tick=bet_start_tick, name=name, hazard=hazard)

    def sidebet_ev(self) -> np.ndarray:
        """EV per SOL staked of a sidebet placed at tick t (round alive), t = 0..max-1."""
        lo, hi = self.rug_range
        return _sidebet_ev(self.mode, self.hazard_scale, self.volatility_scale, lo, hi)

    def oracle_value(self, *, bet_start_tick: int = BET_START_TICK) -> float:
        """The oracle's expected PnL per episode (per SOL staked): it bets at its first
        betting tick from `start_tick` if the round is alive then."""
        return self.value_of_bets(
            optimal_bet_ticks(self.rules, bet_start_tick, hazard=self.hazard_curve)
        )

    @property
    def episode_steps(self) -> float:
        """Expected env steps of one episode: from `start_tick` to the rug, the cost of
        an episode in training steps (exact, from the hazard curve)."""
        hi = self.rug_range[1]
        alive = np.cumprod(1.0 - self.hazard_curve[self.start_tick : hi - 1])
        return float(1.0 + alive.sum())

    def value_of_bets(self, bets: np.ndarray) -> float:
        """Expected PnL per episode (per SOL staked) of a policy that bets at the first
        tick from `start_tick` where `bets[tick]` holds, the round being alive then."""
        first = np.flatnonzero(bets[self.start_tick :])
        if first.size == 0:
            return 0.0
        tick = self.start_tick + int(first[0])
        alive = float(np.prod(1.0 - self.hazard_curve[self.start_tick : tick]))
        return alive * float(self.sidebet_ev()[tick])


# Derived values are cached by the scenario's fields: a frozen model compares and hashes
# by its fields, so nothing derived may live on the instance.
@lru_cache(maxsize=256)
def _scaled_rules(mode: str, h: float, v: float) -> GameRules:
    base = load_mode(mode)
    if h == 1.0 and v == 1.0:
        return base
    values: dict[str, Any] = base.model_dump() | {
        "rug_prob": min(1.0, base.rug_prob * h),
        "hazard_slope": base.hazard_slope * h,
        "hazard_cap": min(1.0, base.hazard_cap * h),
        "big_move_min": base.big_move_min * v,
        "big_move_max": base.big_move_max * v,
        "vol_coef": base.vol_coef * v,
        "description": f"{base.name} with hazard x{h:g}, volatility x{v:g}",
    }
    return GameRules.model_validate(values)


@lru_cache(maxsize=256)
def _log_survival(mode: str, h: float, v: float) -> np.ndarray:
    rules = _scaled_rules(mode, h, v)
    with np.errstate(divide="ignore"):
        steps = np.log1p(-rules.hazard(np.arange(1, rules.max_ticks + 1)))
    out = np.concatenate([[0.0], np.cumsum(steps)])
    out.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def _hazard_curve(mode: str, h: float, v: float, lo: int, hi: int) -> np.ndarray:
    rules = _scaled_rules(mode, h, v)
    ticks = np.arange(1, rules.max_ticks + 1)
    base = rules.hazard(ticks)
    log_s = _log_survival(mode, h, v)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # P(rug <= hi | rug >= t) = 1 - S(hi) / S(t - 1)
        reach = -np.expm1(log_s[hi] - log_s[ticks - 1])
        curve = np.where(reach > 0, base / reach, 1.0)
    curve = np.where(ticks < lo, 0.0, np.where(ticks >= hi, 1.0, curve))
    out = np.clip(curve, 0.0, 1.0)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def _sidebet_ev(mode: str, h: float, v: float, lo: int, hi: int) -> np.ndarray:
    out = sidebet_ev_by_tick(_scaled_rules(mode, h, v), hazard=_hazard_curve(mode, h, v, lo, hi))
    out.flags.writeable = False
    return out


def scenario_grid(
    mode: str,
    *,
    hazard_scales: tuple[float, ...] = (0.5, 1.0, 2.0),
    volatility_scales: tuple[float, ...] = (1.0, 2.0),
    start_ticks: tuple[int, ...] = (0, 150, BET_START_TICK),
    rug_ranges: tuple[str, ...] = ("all", "zone", "decided"),
) -> list[Scenario]:
    """The default scenario set around a mode: every combination of the four knobs.

    Rug ranges: `all` rounds; `zone`, only rounds that live past the first betting tick;
    `decided`, only those that also end within two sidebet windows of it, where a bet's
    outcome depends on its tick alone (a late bet surely wins, an early one surely
    loses): the timing lesson without the outcome noise."""
    window = load_mode(mode).sidebet_window
    bounds = {
        "all": (1, None),
        "zone": (BET_START_TICK + 1, None),
        "decided": (BET_START_TICK + 1, BET_START_TICK + 2 * window),
    }
    out = []
    for h in hazard_scales:
        for v in volatility_scales:
            for start in start_ticks:
                for name in rug_ranges:
                    lo, hi = bounds[name]
                    if name == "zone" and start >= BET_START_TICK:
                        continue  # the same rounds as `all` from that tick
                    try:
                        scenario = Scenario(mode=mode, hazard_scale=h, volatility_scale=v,
                                            start_tick=start, rug_min=lo, rug_max=hi)  # fmt: skip
                    except ValidationError:  # keeps too few rounds (fast_rug: most rug early)
                        continue
                    out.append(scenario)
    return out
