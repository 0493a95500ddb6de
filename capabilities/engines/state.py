"""The game state every capability that takes one accepts (request schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from capabilities.engines.game_models.ev import ACTIONS
from capabilities.engines.rules import cross_field_rules, rule_broken
from game.rules import MODE_PATTERN, available_modes, known_mode

# A mode is data (docs/modes.md): packaged, or declared by the user at run time, so the
# schema gives the name's form and the packaged modes as examples; a well-formed name
# that is not a mode is refused with the error type `unknown_mode`.
ModeName = Annotated[
    str,
    Field(
        pattern=MODE_PATTERN,
        json_schema_extra={"examples": available_modes(), "x-modes-listed-at": "/v1/modes"},
    ),
    AfterValidator(known_mode),
]
BotId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
Probability = Annotated[float, Field(ge=0, le=1)]
Feature = Annotated[float, Field(ge=-1e9, le=1e9)]  # one value of a bot's observation
GAME_ID_PATTERN = r"^\d{8}-[0-9a-f]{16}$"
SIDEBET_ENV_ACTIONS = {0: "hold", 1: "sidebet"}  # the bot's SidebetV1Env: 0 HOLD, 1 BET


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # Python's True == 1: a Literal[0, 1] alone would take it
        raise PydanticCustomError("int_type", "the sidebet env's actions are 0 and 1, not booleans")
    return value


EnvAction = Annotated[Literal[0, 1], BeforeValidator(_not_bool)]


def action_name(value: str | int) -> str:
    """An action as one of ACTIONS; the integers 0/1 are the sidebet env's HOLD/BET."""
    if isinstance(value, bool):
        raise ValueError("an action is a name or 0/1")
    if isinstance(value, int):
        if value not in SIDEBET_ENV_ACTIONS:
            raise ValueError("a numeric action is the sidebet env's 0 (HOLD) or 1 (BET)")
        return SIDEBET_ENV_ACTIONS[value]
    if value not in ACTIONS:
        raise ValueError(f"an action is one of {', '.join(ACTIONS)}")
    return value


class OpenSidebet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_tick: int = Field(ge=0, description="tick at which the sidebet was placed")
    amount: float = Field(gt=0, le=1e6, description="SOL staked")


class LeaderboardEntry(BaseModel):
    """One row of the protocol's leaderboard (extra protocol fields are kept)."""

    model_config = ConfigDict(extra="allow")

    id: str
    username: str | None = None
    level: int | None = None
    pnl: float | None = None
    positionQty: float | None = None
    sidebetActive: bool | None = None


class GameState(BaseModel):
    """A live game state as the bot sees it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "sidebet.start_tick <= tick: a sidebet cannot start after the current tick"
        ),
    )

    mode: ModeName = Field("classic", description="game mode (rules) the round is played under")
    game_id: str | None = Field(None, pattern=GAME_ID_PATTERN)
    tick: int = Field(ge=0, le=5000, description="current tickCount")
    price: float = Field(ge=0, le=1e6, description="current multiplier")
    position_qty: float = Field(0.0, ge=0, le=1e12, description="tokens held")
    avg_cost: float | None = Field(None, ge=0, le=1e6)
    cash: float | None = Field(None, ge=0, le=1e12)
    sidebet: OpenSidebet | None = None
    recent_prices: list[Annotated[float, Field(ge=0, le=1e6)]] | None = Field(
        None, max_length=5000, description="prices of the last ticks, oldest first"
    )
    leaderboard: list[LeaderboardEntry] | None = Field(None, max_length=100)

    @field_validator("sidebet")
    @classmethod
    def _sidebet_not_in_future(
        cls, value: OpenSidebet | None, info: ValidationInfo
    ) -> OpenSidebet | None:
        tick = info.data.get("tick")
        if value is not None and tick is not None and value.start_tick > tick:
            raise rule_broken(f"start_tick {value.start_tick} is after the current tick {tick}")
        return value
