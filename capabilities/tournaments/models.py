"""What a tournament is asked to do (`TournamentSpec`) and what its API answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.state import ModeName
from game.personas import PERSONAS

EntrantName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:+-]+$")]
MAX_ROUNDS = 2_000_000


class _Entrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EntrantName = Field(description="unique within the tournament")


class ArchetypeEntrant(_Entrant):
    """A rule-based sidebet bot of `game.bots` with its parameters."""

    kind: Literal["archetype"]
    archetype: Literal["aggressive", "conservative", "whale_hunter", "random"]
    params: dict[str, float] = Field(
        default_factory=dict,
        description="aggressive: min_tick; conservative: min_tick, min_drawdown; "
        "whale_hunter: spike, volatility, min_tick; random: p",
    )


class PersonaEntrant(_Entrant):
    """A simulated player persona (trades and sidebets); unset parameters are drawn."""

    kind: Literal["persona"]
    persona: Literal[PERSONAS]  # type: ignore[valid-type]
    params: dict[str, float] = Field(default_factory=dict)


class PolicyEntrant(_Entrant):
    """A PPO policy of the policy store (a UUID or `baseline:<mode>`)."""

    kind: Literal["policy"]
    policy_id: str = Field(max_length=80)


class FileEntrant(_Entrant):
    """An uploaded policy, base64: an SB3 PPO zip (read without torch) or a
    `vectra-policy-net/1` .npz export."""

    kind: Literal["sb3"]
    file: str = Field(min_length=4, max_length=8_000_000, description="base64 of the file")
    format: Literal["sb3_zip", "npz"] = "sb3_zip"
    activation: Literal["tanh", "relu"] | None = Field(
        None, description="the zip's activation when its policy_kwargs do not say (SB3: tanh)"
    )


class HybridEntrant(_Entrant):
    """The hybrid policy over an RL policy, with its thresholds."""

    kind: Literal["hybrid"]
    policy_id: str = Field(max_length=80, description="the RL policy it overrides")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="fields of capabilities.hybrid.policy.Thresholds"
    )
    models: Literal["rules", "simulated"] = Field(
        "simulated",
        description="its game models: the mode's rules, or fitted on 2,000 simulated "
        "training rounds of another seed (as bench/hybrid_ab.py)",
    )


class OracleEntrant(_Entrant):
    """The EV-optimal sidebet policy of the mode's true rules."""

    kind: Literal["oracle"]


Entrant = Annotated[
    ArchetypeEntrant | PersonaEntrant | PolicyEntrant | FileEntrant | HybridEntrant | OracleEntrant,
    Field(discriminator="kind"),
]


class SprtRequest(BaseModel):
    """The sequential test of every pair (effect sizes in standard deviations of the
    per-round paired difference)."""

    model_config = ConfigDict(extra="forbid")

    h0: float = Field(0.0, ge=0.0, le=1.0)
    h1: float = Field(0.05, gt=0.0, le=2.0)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)
    beta: float = Field(0.05, gt=0.0, lt=0.5)
    min_rounds: int = Field(100, ge=2, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> SprtRequest:
        if self.h1 <= self.h0:
            raise ValueError("h1 must be greater than h0")
        return self


class TournamentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = "classic"
    entrants: list[Entrant] = Field(min_length=2, max_length=16)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    max_rounds: int = Field(100_000, ge=10, le=MAX_ROUNDS, description="the budget")
    chunk_rounds: int = Field(5_000, ge=10, le=50_000, description="rounds per chunk job")
    sprt: SprtRequest = Field(default_factory=SprtRequest)

    @model_validator(mode="after")
    def _unique(self) -> TournamentSpec:
        names = [e.name for e in self.entrants]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"entrant names must be unique: {', '.join(twice)}")
        return self


class Interval(BaseModel):
    mean: float | None
    low: float | None
    high: float | None


class EntrantResult(BaseModel):
    name: str
    kind: str
    pnl: Interval = Field(description="SOL per round, 95 % t-interval")
    win_rate: Interval | None = Field(description="of its bets, Wilson 95 %")
    bets_per_round: Interval
    rank: int
    rank_range: tuple[int, int] = Field(description="ranks the tests leave possible")


class PairResult(BaseModel):
    a: str
    b: str
    diff: Interval = Field(description="mean PnL a - b per round on paired rounds, 95 %")
    effect: float | None = Field(description="mean / sd of the paired differences")
    verdict: Literal["a_better", "b_better", "no_difference", "undecided"]
    decided_at: int | None = Field(description="rounds the sequential test used")
    llr: tuple[float | None, float | None] = Field(description="(a better, b better)")


class TournamentResult(BaseModel):
    rounds: int = Field(description="rounds every entrant played (merged, in order)")
    status: Literal["running", "decided", "budget_exhausted"]
    entrants: list[EntrantResult]
    pairs: list[PairResult]
    ranking: list[list[str]] = Field(description="groups in order; within a group unresolved")
    sprt: dict[str, Any]
    rounds_per_minute: float | None = None


class Tournament(BaseModel):
    id: uuid.UUID
    state: str
    mode: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    spec: dict[str, Any]
    result: TournamentResult | None = None
    intervals_svg_url: str | None = None


class TournamentList(BaseModel):
    tournaments: list[Tournament]
