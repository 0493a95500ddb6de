"""Request and answer of `POST /v1/games/verify`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from game.fairness.engine import MAX_TICKS

Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class VerifyRequest(BaseModel):
    """One round: its revealed seed and id, and what was recorded of it."""

    model_config = ConfigDict(extra="forbid")

    server_seed: str = Field(
        min_length=1, max_length=256, description="the revealed serverSeed (64 hex in real rounds)"
    )
    game_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="the round's id, `YYYYMMDD-<16 hex>` in real rounds; the generator takes "
        "any text, so another form is replayed as given (and said so in `notes`)",
    )
    server_seed_hash: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{64}$", description="the published serverSeedHash (SHA-256)"
    )
    prices: list[Price] | None = Field(
        None,
        min_length=2,
        max_length=MAX_TICKS + 1,
        description="as the gameHistory record lists them: ticks 0 .. rug-1, then the rug "
        "price (not compared: the generator does not produce it); omit to get the replayed "
        "path",
    )
    version: Literal["v1", "v2", "v3"] | None = Field(
        None,
        description="engine of the round (gameVersion); omitted: v3, v2, v1 are tried when "
        "prices are given, v3 is played when not",
    )


class ReplayedPath(BaseModel):
    prices: list[float] = Field(description="prices at ticks 0 .. rug_tick-1")
    rug_tick: int


class VerifyResponse(BaseModel):
    game_id: str
    hash_ok: bool | None = Field(description="SHA-256 of the seed is the hash; null: no hash")
    replay_ok: bool | None = Field(
        description="the replayed prices and rug tick equal the given ones; null: none given"
    )
    verified: bool = Field(description="replay_ok, and hash_ok unless no hash was given")
    rug_tick: int = Field(description="the replayed rug tick")
    peak: float = Field(description="the replayed round's highest price")
    max_abs_diff: float | None = Field(description="largest |given - replayed| price")
    version: Literal["v1", "v2", "v3"]
    version_detected: bool = Field(description="the version was found by trying the engines")
    first_diff_tick: int | None
    ticks_compared: int
    reason: str | None = Field(description="what did not match")
    notes: list[str]
    replayed: ReplayedPath | None = Field(description="the replayed path, when no prices given")
