"""Game rules as data: one `GameRules` value per named mode, loaded from TOML.

Every number GAME.md documents is a field here, including the ones public sources
dispute (payout semantics, whether the sidebet window end is inclusive, bet limits,
commission, the sqrt cap of the volatility term), so a mode is a TOML file and no rule
is a constant buried in the simulator or a bot. A mode may `extends = "<other mode>"`
and list only what it changes.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

_MODES_PACKAGE = "game.modes"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ModeError(ValueError):
    """A mode file that cannot be read or validated; the message names the file and key."""


class GameRules(BaseModel):
    """All parameters of one game mode (defaults: the documented v3 model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "classic"
    description: str = ""

    # -- rug hazard: P(rug at tick t | alive at t-1) = min(cap, rug_prob + slope*(t-ramp)+)
    rug_prob: float = Field(0.005, gt=0.0, le=1.0)
    hazard_slope: float = Field(0.0, ge=0.0)
    hazard_ramp_start: int = Field(0, ge=0)
    hazard_cap: float = Field(1.0, gt=0.0, le=1.0)

    # -- price moves, in the order the v3 model applies them each tick
    initial_price: float = Field(1.0, gt=0.0)
    god_candle_prob: float = Field(0.00001, ge=0.0, le=1.0)
    god_candle_max_price: float = Field(100.0, ge=0.0)
    god_candle_multiplier: float = Field(10.0, gt=0.0)
    big_move_prob: float = Field(0.125, ge=0.0, le=1.0)
    big_move_min: float = Field(0.15, ge=0.0)
    big_move_max: float = Field(0.25, ge=0.0)
    drift_low: float = -0.02
    drift_high: float = 0.03
    vol_coef: float = Field(0.005, ge=0.0)
    vol_sqrt_cap: float | None = Field(10.0, gt=0.0)
    max_ticks: int = Field(5000, ge=2)
    rug_price: float = Field(0.00178, ge=0.0)
    instarug_ticks: int = Field(5, ge=0)

    # -- timing
    tick_seconds: float = Field(0.25, gt=0.0)
    cooldown_seconds: float = Field(15.0, ge=0.0)
    presale_seconds: float = Field(10.0, ge=0.0)

    # -- sidebets
    sidebet_window: int = Field(40, ge=1)
    sidebet_payout: float = Field(5.0, gt=0.0)
    payout_semantics: Literal["total", "profit"] = "total"
    window_end_inclusive: bool = True
    sidebet_cooldown_ticks: int = Field(5, ge=0)

    # -- positions
    min_bet: float = Field(0.001, gt=0.0)
    max_bet: float = Field(1.0, gt=0.0)
    commission: float = Field(0.0, ge=0.0, lt=1.0)
    leverage_min_level: int = Field(10, ge=0)
    liquidation: dict[int, float] = Field(
        default_factory=lambda: {2: 0.20, 3: 0.10, 4: 0.025, 5: 0.01}
    )

    @field_validator("vol_sqrt_cap", mode="before")
    @classmethod
    def _no_cap(cls, value: object) -> object:
        """TOML has no null: `vol_sqrt_cap = false` selects the old uncapped model."""
        return None if value is False else value

    @model_validator(mode="after")
    def _consistent(self) -> GameRules:
        problems = []
        if self.big_move_min > self.big_move_max:
            problems.append("big_move_min must not exceed big_move_max")
        if self.drift_low > self.drift_high:
            problems.append("drift_low must not exceed drift_high")
        if self.min_bet > self.max_bet:
            problems.append("min_bet must not exceed max_bet")
        if self.hazard_cap < self.rug_prob:
            problems.append("hazard_cap must be at least rug_prob")
        if self.presale_seconds > self.cooldown_seconds:
            problems.append("presale_seconds must not exceed cooldown_seconds")
        for leverage, drawdown in self.liquidation.items():
            if leverage < 2 or not 0.0 < drawdown < 1.0:
                problems.append(f"liquidation.{leverage}: leverage >= 2, 0 < drawdown < 1")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @overload
    def hazard(self, tick: int) -> float: ...
    @overload
    def hazard(self, tick: np.ndarray) -> np.ndarray: ...
    def hazard(self, tick: np.ndarray | int) -> np.ndarray | float:
        """P(rug at tick t | alive at tick t-1) for t >= 1; 1 at `max_ticks` (the cap ends
        the round the way a rug does)."""
        t = np.asarray(tick, dtype=np.float64)
        h = self.rug_prob + self.hazard_slope * np.maximum(0.0, t - self.hazard_ramp_start)
        h = np.where(t >= self.max_ticks, 1.0, np.minimum(h, self.hazard_cap))
        return float(h) if h.ndim == 0 else h

    def survival(self, tick: int) -> float:
        """P(the round is still alive at tickCount `tick`)."""
        if tick <= 0:
            return 1.0
        return float(np.prod(1.0 - self.hazard(np.arange(1, tick + 1))))

    @property
    def sidebet_profit_multiple(self) -> float:
        """Profit per unit staked on a win (the stake is lost otherwise)."""
        if self.payout_semantics == "total":
            return self.sidebet_payout - 1.0
        return self.sidebet_payout

    def sidebet_last_winning_tick(self, start_tick: int) -> int:
        """The last rug tick that still wins a sidebet placed at `start_tick`."""
        return start_tick + self.sidebet_window - (0 if self.window_end_inclusive else 1)

    def sidebet_win_probability(self, alive_at_tick: int) -> float:
        """P(a sidebet placed at `alive_at_tick`, the round alive then, wins)."""
        last = self.sidebet_last_winning_tick(alive_at_tick)
        if last <= alive_at_tick:
            return 0.0
        ticks = np.arange(alive_at_tick + 1, last + 1)
        return float(1.0 - np.prod(1.0 - self.hazard(ticks)))

    def sidebet_expected_value(self, alive_at_tick: int) -> float:
        """Expected profit per unit staked on a sidebet placed at `alive_at_tick`."""
        p = self.sidebet_win_probability(alive_at_tick)
        return p * self.sidebet_profit_multiple - (1.0 - p)


def _mode_text(name: str) -> tuple[str, str]:
    """(file label, TOML text) of a packaged mode."""
    if not _NAME.match(name):
        raise ModeError(f"invalid mode name {name!r} (lowercase letters, digits, _)")
    resource = resources.files(_MODES_PACKAGE) / f"{name}.toml"
    if not resource.is_file():
        raise ModeError(f"unknown mode {name!r}; available: {', '.join(available_modes())}")
    return f"game/modes/{name}.toml", resource.read_text(encoding="utf-8")


def _key_line(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*(\[)?\s*{re.escape(key)}\s*[=\]]")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _parse(label: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModeError(f"{label}: invalid TOML: {exc}") from None


def rules_from_toml(label: str, text: str, *, _seen: tuple[str, ...] = ()) -> GameRules:
    """Validate one mode's TOML text; `label` names the file in error messages."""
    data = _parse(label, text)
    base: dict[str, Any] = {}
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or parent in _seen:
            raise ModeError(f"{label}: key 'extends': bad or circular base mode {parent!r}")
        parent_label, parent_text = _mode_text(parent)
        base = rules_from_toml(parent_label, parent_text, _seen=(*_seen, parent)).model_dump()
        base.pop("description", None)
    values = {**base, "name": Path(label).stem, **data}
    try:
        return GameRules.model_validate(values)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(mode)"
            line = _key_line(text, str(error["loc"][0])) if error["loc"] else None
            where = f"{label}:{line}" if line else label
            lines.append(f"{where}: key '{key}': {error['msg']}")
        raise ModeError("\n".join(lines)) from None


def load_rules_file(path: str | Path) -> GameRules:
    """Rules from a TOML file outside the package (its `extends` names packaged modes)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModeError(f"{path}: cannot read: {exc.strerror}") from None
    return rules_from_toml(str(path), text)


@lru_cache(maxsize=64)
def load_mode(name: str) -> GameRules:
    """The packaged mode `name` (see `available_modes()`)."""
    label, text = _mode_text(name)
    return rules_from_toml(label, text, _seen=(name,))


def available_modes() -> list[str]:
    """Names of the packaged modes, sorted."""
    return list(_packaged_modes())


@lru_cache(maxsize=1)
def _packaged_modes() -> tuple[str, ...]:
    """The package's mode files, listed once: request validation asks on every call."""
    folder = resources.files(_MODES_PACKAGE)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
