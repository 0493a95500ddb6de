"""Game rules as data: one `GameRules` value per named mode, loaded from TOML.

Every number GAME.md documents is a field here, including the ones public sources
dispute (payout semantics, whether the sidebet window end is inclusive, bet limits,
commission, the sqrt cap of the volatility term), so a mode is a TOML file and no rule
is a constant buried in the simulator or a bot. A mode may `extends = "<other mode>"`
and list only what it changes.

Modes come from three places, one name space: the package (`game/modes/*.toml`), a
directory of the user's TOML files (`use_modes_dir`, AGENT_MODES_DIR) and a store the
service keeps (PostgreSQL, reached through the lookup `set_mode_lookup` installs, so this
module needs no database). `load_mode` asks them in that order and remembers what the
lookup found: a declared mode never changes.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from pydantic_core import PydanticCustomError

_MODES_PACKAGE = "game.modes"
MODE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
_NAME = re.compile(MODE_PATTERN)
UNKNOWN_MODE = "unknown_mode"  # the pydantic error type of a well-formed, undeclared name
ModeSource = Literal["packaged", "dir", "db"]


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


@dataclass(frozen=True)
class ModeEntry:
    """A known mode: its rules and where it was declared."""

    name: str
    source: ModeSource
    origin: str  # the file, or "modes table"
    base: str | None  # the mode it extends (`extends`, or `import --base`)
    rules: GameRules


ModeLookup = Callable[[str], ModeEntry | None]
_declared: dict[str, ModeEntry] = {}
_declared_lock = threading.Lock()
_lookup: ModeLookup | None = None


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModeError(
            f"invalid mode name {name!r} (a lowercase letter, then up to 31 lowercase "
            "letters, digits, _)"
        )


def _mode_text(name: str) -> tuple[str, str]:
    """(file label, TOML text) of a packaged mode."""
    _check_name(name)
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


def rules_from_toml(
    label: str,
    text: str,
    *,
    siblings: Mapping[str, tuple[str, str]] | None = None,
    _seen: tuple[str, ...] = (),
) -> GameRules:
    """Validate one mode's TOML text; `label` names the file in error messages. Its
    `extends` names one of `siblings` (name -> (label, text): the other files of a modes
    directory), a packaged mode or a declared one."""
    data = _parse(label, text)
    base: dict[str, Any] = {}
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or parent in _seen:
            raise ModeError(f"{label}: key 'extends': bad or circular base mode {parent!r}")
        base = _parent_rules(label, parent, siblings or {}, (*_seen, parent)).model_dump()
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


def _parent_rules(
    label: str, parent: str, siblings: Mapping[str, tuple[str, str]], seen: tuple[str, ...]
) -> GameRules:
    if parent in siblings:
        parent_label, parent_text = siblings[parent]
        return rules_from_toml(parent_label, parent_text, siblings=siblings, _seen=seen)
    if parent in _packaged_modes():
        parent_label, parent_text = _mode_text(parent)
        return rules_from_toml(parent_label, parent_text, _seen=seen)
    try:
        return load_mode(parent)
    except ModeError as exc:
        raise ModeError(f"{label}: key 'extends': {exc}") from None


def load_rules_file(path: str | Path) -> GameRules:
    """Rules from a TOML file outside the package (its `extends` names a known mode)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModeError(f"{path}: cannot read: {exc.strerror}") from None
    return rules_from_toml(str(path), text)


def read_modes_dir(folder: str | Path) -> list[ModeEntry]:
    """Every `*.toml` of a modes directory, validated (one mode per file, named after it;
    `extends` may name another file of the directory). Raises ModeError naming each file
    and key at fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModeError(f"{folder}: not a directory")
    texts: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        name = path.stem
        if not _NAME.match(name):
            problems.append(f"{path}: invalid mode name {name!r} (the file name: a lowercase "
                            "letter, then up to 31 lowercase letters, digits, _)")  # fmt: skip
        elif name in _packaged_modes():
            problems.append(f"{path}: {name!r} is a packaged mode; give the file another name")
        else:
            try:
                texts[name] = (str(path), path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read: {exc}")
    entries = []
    for name, (label, text) in texts.items():
        try:
            rules = rules_from_toml(label, text, siblings=texts, _seen=(name,))
        except ModeError as exc:
            problems.append(str(exc))
            continue
        parent = tomllib.loads(text).get("extends")
        entries.append(ModeEntry(name, "dir", label, parent, rules))
    if problems:
        raise ModeError("\n".join(problems))
    return entries


def use_modes_dir(folder: str | Path) -> list[ModeEntry]:
    """Declare the modes of a directory in this process (see `read_modes_dir`)."""
    entries = read_modes_dir(folder)
    for entry in entries:
        declare_mode(entry)
    return entries


def declare_mode(entry: ModeEntry) -> None:
    """Make a mode known to this process. A name is declared once: the same name with
    other rules (or a packaged name) is refused."""
    _check_name(entry.name)
    if entry.name in _packaged_modes():
        raise ModeError(f"{entry.origin}: {entry.name!r} is a packaged mode")
    with _declared_lock:
        known = _declared.get(entry.name)
        if known is not None and known.rules != entry.rules:
            raise ModeError(
                f"{entry.origin}: mode {entry.name!r} is already declared by {known.origin}"
            )
        _declared.setdefault(entry.name, entry)


def set_mode_lookup(lookup: ModeLookup | None) -> None:
    """Where `load_mode` looks for a name neither packaged nor declared yet (the modes a
    user declared in the service's database); None: nowhere."""
    global _lookup
    _lookup = lookup


def clear_mode_lookup(lookup: ModeLookup) -> None:
    """Remove `lookup` if it is the one installed (its owner is closing), and forget the
    modes it found: they belong to the store it reads."""
    global _lookup
    if _lookup is lookup:
        _lookup = None
        with _declared_lock:
            for name in [n for n, e in _declared.items() if e.source == "db"]:
                del _declared[name]


def mode_entry(name: str) -> ModeEntry:
    """The mode `name`: packaged, declared in this process, or found by the lookup."""
    _check_name(name)
    if name in _packaged_modes():
        return _packaged_entry(name)
    entry = _declared.get(name)
    if entry is None and _lookup is not None:
        found = _lookup(name)
        if found is not None:
            declare_mode(found)
            entry = _declared[name]
    if entry is None:
        raise ModeError(
            f"unknown mode {name!r}; available: {', '.join(available_modes())} and the "
            "declared ones (`agent-service modes`)"
        )
    return entry


def load_mode(name: str) -> GameRules:
    """The rules of mode `name` (see `mode_entry`)."""
    return mode_entry(name).rules


def is_known_mode(name: str) -> bool:
    try:
        mode_entry(name)
    except ModeError:
        return False
    return True


def known_mode(value: str) -> str:
    """A pydantic validator: `value` names a known mode, else an `unknown_mode` error
    (the name is well formed, so only the service's state can say it is not a mode)."""
    if not is_known_mode(value):
        raise PydanticCustomError(
            UNKNOWN_MODE,
            "unknown mode '{mode}'; GET /v1/modes lists the modes",
            {"mode": value},
        )
    return value


def declared_modes() -> list[ModeEntry]:
    """The modes this process declared or looked up, by name."""
    return [_declared[name] for name in sorted(_declared)]


@lru_cache(maxsize=64)
def _packaged_entry(name: str) -> ModeEntry:
    label, text = _mode_text(name)
    rules = rules_from_toml(label, text, _seen=(name,))
    return ModeEntry(name, "packaged", label, _parse(label, text).get("extends"), rules)


def packaged_mode_entries() -> list[ModeEntry]:
    return [_packaged_entry(name) for name in _packaged_modes()]


def available_modes() -> list[str]:
    """Names of the packaged modes, sorted."""
    return list(_packaged_modes())


@lru_cache(maxsize=1)
def _packaged_modes() -> tuple[str, ...]:
    """The package's mode files, listed once: request validation asks on every call."""
    folder = resources.files(_MODES_PACKAGE)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
