"""What `POST /v1/features/discover` and the feature proposals take and answer."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from capabilities.discovery import expressions
from capabilities.discovery.expressions import ExpressionError, parse
from capabilities.discovery.panel import TRADE_SERIES
from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.runtime import Answer
from capabilities.engines.state import ModeName

MAX_CANDIDATES = 10
CandidateName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=expressions.MAX_LENGTH)]
Target = Literal["rug_within", "next_return_sign", "next_return_size", "player_next_action"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,39}$"  # a proposed feature's name


class ProposalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str
    targets: list[str]
    horizon: int
    rounds: int


class ProposalNarrative(BaseModel):
    """What the language model may return."""

    summary: str = Field(min_length=1, max_length=2000)
    candidates: dict[CandidateName, Expression] = Field(
        default_factory=dict, max_length=MAX_CANDIDATES
    )


class Proposals(Answer):
    candidates: dict[str, str] = Field(default_factory=dict)


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "each proposed expression parses in the feature language (docs/models.md) over "
            "tick, price, sidebets and the trade series"
        ),
    )

    mode: ModeName = "classic"
    targets: list[Target] = Field(
        default_factory=lambda: ["rug_within", "next_return_size", "player_next_action"],
        min_length=1,
        max_length=4,
        json_schema_extra={"uniqueItems": True},
    )
    horizon: int = Field(40, ge=1, le=500, description="N of the target 'rug within N ticks'")
    rounds: int = Field(1000, ge=50, le=20_000, description="latest stored rounds to mine")
    fdr: float = Field(0.05, gt=0, le=0.2, description="false-discovery rate per target")
    proposed: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="extra candidates: name -> expression in the feature language",
        json_schema_extra={"propertyNames": {"pattern": NAME_PATTERN}},
    )
    llm_candidates: bool = Field(
        True, description="let the configured language model propose candidates too"
    )

    @field_validator("targets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise rule_broken("targets must not repeat")
        return value

    @field_validator("proposed")
    @classmethod
    def _parsable(cls, value: dict[str, str]) -> dict[str, str]:
        names = {"tick", "price", "sidebets", *TRADE_SERIES}
        for name, text in value.items():
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"{name!r}: names are identifiers of at most 40 characters")
            try:
                parse(text, names)
            except ExpressionError as exc:
                raise rule_broken(f"{name}: {exc}") from None
        return value
