"""What a tournament is asked to do (`TournamentSpec`) and what its API answers."""

from __future__ import annotations

import base64
import binascii
import inspect
import uuid
from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.state import ModeName
from capabilities.hybrid.policy import Thresholds
from game import bots
from game.personas import _PARAM_RANGES, PERSONAS
from game.sb3_zip import PolicyFileError, read_policy_file

EntrantName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:+-]+$")]
MAX_ROUNDS = 2_000_000
POLICY_ID = (
    r"^(baseline:[a-z0-9_]{1,50}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
ARCHETYPES: dict[str, type] = {
    "aggressive": bots.Aggressive,
    "conservative": bots.Conservative,
    "whale_hunter": bots.WhaleHunter,
    "random": bots.RandomBot,
}
THRESHOLDS = {f.name for f in fields(Thresholds)}


def _known(what: str, given: dict[str, float], known: set[str]) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise rule_broken(
            f"unknown {what}: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


class _Entrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EntrantName = Field(description="unique within the tournament")


class ArchetypeEntrant(_Entrant):
    """A rule-based sidebet bot of `game.bots` with its parameters."""

    model_config = ConfigDict(
        json_schema_extra=cross_field_rules("params are those of the archetype")
    )
    kind: Literal["archetype"]
    archetype: Literal["aggressive", "conservative", "whale_hunter", "random"]
    params: dict[str, float] = Field(
        default_factory=dict,
        description="aggressive: min_tick; conservative: min_tick, min_drawdown; "
        "whale_hunter: spike, volatility, min_tick; random: p",
    )

    @model_validator(mode="after")
    def _params(self) -> ArchetypeEntrant:
        cls = ARCHETYPES[self.archetype]
        _known(f"{self.archetype} params", self.params,
               set(inspect.signature(cls).parameters) - {"name", "seed"})  # fmt: skip
        if self.archetype == "random" and not 0.0 <= self.params.get("p", 0.0) <= 1.0:
            raise rule_broken("random: p must be in [0, 1]")
        return self


class PersonaEntrant(_Entrant):
    """A simulated player persona (trades and sidebets); unset parameters are drawn."""

    model_config = ConfigDict(json_schema_extra=cross_field_rules("params are the persona's"))
    kind: Literal["persona"]
    persona: Literal[PERSONAS]  # type: ignore[valid-type]
    params: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _params(self) -> PersonaEntrant:
        _known(f"{self.persona} params", self.params, {*_PARAM_RANGES[self.persona], "activity"})
        return self


class PolicyEntrant(_Entrant):
    """A PPO policy of the policy store (a UUID or `baseline:<mode>`)."""

    kind: Literal["policy"]
    policy_id: str = Field(pattern=POLICY_ID)


class FileEntrant(_Entrant):
    """An uploaded policy, base64: an SB3 PPO zip (read without torch) or a
    `vectra-policy-net/1` .npz export."""

    model_config = ConfigDict(
        json_schema_extra=cross_field_rules("file is a readable policy of that format")
    )
    kind: Literal["sb3"]
    file: str = Field(min_length=4, max_length=8_000_000, description="base64 of the file")
    format: Literal["sb3_zip", "npz"] = "sb3_zip"
    activation: Literal["tanh", "relu"] | None = Field(
        None, description="the zip's activation when its policy_kwargs do not say (SB3: tanh)"
    )

    @model_validator(mode="after")
    def _readable(self) -> FileEntrant:
        self.network()
        return self

    def network(self) -> Any:
        """The uploaded network (a cross-field error saying why it is not one)."""
        try:
            data = base64.b64decode(self.file, validate=True)
        except (binascii.Error, ValueError):
            raise rule_broken("malformed policy file: not base64") from None
        try:
            net = read_policy_file(data, self.format, activation=self.activation)
        except PolicyFileError as exc:
            raise rule_broken(f"malformed policy file: {exc}") from None
        if net.obs_dim != 15 or net.n_actions != 2:
            raise rule_broken(f"malformed policy file: a sidebet_v1 policy has 15 inputs and "
                              f"2 actions, not {net.obs_dim} and {net.n_actions}")  # fmt: skip
        return net


class HybridEntrant(_Entrant):
    """The hybrid policy over an RL policy, with its thresholds."""

    model_config = ConfigDict(json_schema_extra=cross_field_rules("thresholds are known ones"))
    kind: Literal["hybrid"]
    policy_id: str = Field(pattern=POLICY_ID, description="the RL policy it overrides")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="fields of capabilities.hybrid.policy.Thresholds"
    )
    models: Literal["rules", "simulated"] = Field(
        "simulated",
        description="its game models: the mode's rules, or fitted on 2,000 simulated "
        "training rounds of another seed (as bench/hybrid_ab.py)",
    )

    @model_validator(mode="after")
    def _thresholds(self) -> HybridEntrant:
        _known("thresholds", self.thresholds, THRESHOLDS)
        return self


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

    model_config = ConfigDict(extra="forbid", json_schema_extra=cross_field_rules("h1 > h0"))

    h0: float = Field(0.0, ge=0.0, le=1.0)
    h1: float = Field(0.05, gt=0.0, le=2.0)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)
    beta: float = Field(0.05, gt=0.0, lt=0.5)
    min_rounds: int = Field(100, ge=2, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> SprtRequest:
        if self.h1 <= self.h0:
            raise rule_broken("h1 must be greater than h0")
        return self


class TournamentSpec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=cross_field_rules("entrant names are unique")
    )

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
            raise rule_broken(f"entrant names must be unique: {', '.join(twice)}")
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
    decided_at: int | None = Field(
        None, description="rounds the tests needed to decide every pair (status decided)"
    )
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
