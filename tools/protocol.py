"""rugs.fun protocol messages as typed values, and the envelopes they travel in.

Three envelopes reach us: lines of the legacy recordings (`{seq, ts, event, data, source,
direction}`), lines of the bot's raw websocket captures (`{timestamp, event_type, data}`)
and AMQP bodies (`{event, data}`, optionally with `ts`). Any may carry a
`{"__trace": true, "traceparent": ...}` preamble, as the first element of `data` (the
Socket.IO argument list) or of a top-level list. Models ignore fields they do not know:
the server adds fields without notice, and the raw payload is kept anyway.

`parse_envelope` never raises on bad input: it returns `Rejected(reason)`, a value the
caller can report (`file:line: reason`) or dead-letter. Event names outside the five
typed ones (client requests such as `buyOrder`, other feeds) are accepted untyped
(`Envelope.message is None`) so the raw table keeps them, as the bot's table does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple, Required

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_/.:-]{0,63}$")
_NAMES_SEEN: set[str] = set()  # valid event names met so far: the regex runs once each
_MS_THRESHOLD = 1e11  # epoch numbers above this are milliseconds (year 5138 in seconds)


_INT4_MAX = 2**31 - 1  # integers we store go to PostgreSQL `integer` columns
Tick = Annotated[int, Field(ge=0, le=_INT4_MAX)]
Int4 = Annotated[int, Field(ge=-_INT4_MAX - 1, le=_INT4_MAX)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, allow_inf_nan=False, frozen=True
    )


# The wire's nested objects, validated as dicts keyed as sent: unknown keys are ignored
# (the raw payload keeps them), non-finite numbers refused, as for the models.
_WIRE = ConfigDict(extra="ignore", allow_inf_nan=False)


class SideBetInfo(TypedDict, total=False):
    """A leaderboard entry's open sidebet, keyed as on the wire."""

    __pydantic_config__ = _WIRE  # type: ignore[misc]
    startedAtTick: Required[Tick]
    end: Tick | None
    betAmount: Annotated[float, Field(ge=0)] | None
    xPayout: Annotated[float, Field(gt=0)] | None


class LeaderboardEntry(TypedDict, total=False):
    """One player on a tick's leaderboard: only what ingestion stores is validated (the
    raw payload keeps the rest). A TypedDict rather than a model because a tick carries
    ten of them: building model instances was most of the cost of parsing a tick."""

    __pydantic_config__ = _WIRE  # type: ignore[misc]
    id: Required[Annotated[str, Field(min_length=1, max_length=128)]]
    username: str | None
    level: Int4 | None
    sidebetActive: bool | None
    sideBet: SideBetInfo | None


class PartialPrices(TypedDict, total=False):
    """The last few ticks' prices, keyed by tick (the wire's keys are strings)."""

    __pydantic_config__ = _WIRE  # type: ignore[misc]
    startTick: Tick | None
    endTick: Tick | None
    values: dict[Tick, float]


class ProvablyFair(TypedDict, total=False):
    """A round's seed hash, and the seed itself once the round is over."""

    __pydantic_config__ = _WIRE  # type: ignore[misc]
    serverSeed: str | None
    serverSeedHash: str | None
    version: str | None


class GameHistoryEntry(_Model):
    """A past round as `gameHistory` lists it. With `prices` (ticks 0..rug-1, then the rug
    price) it is a complete round; its trade and sidebet records are validated one by one
    where they are stored (a bad one is skipped, not the whole update)."""

    id: str = Field(min_length=1, max_length=64)
    timestamp: float | str | None = None  # epoch ms on the wire; ISO from some recorders
    peak_multiplier: float | None = Field(None, alias="peakMultiplier", ge=0)
    rugged: bool | None = None
    provably_fair: ProvablyFair | None = Field(None, alias="provablyFair")
    prices: list[Annotated[float, Field(ge=0)]] | None = None
    game_version: str | None = Field(None, alias="gameVersion", max_length=16)
    global_trades: list[Any] | None = Field(None, alias="globalTrades")
    global_sidebets: list[Any] | None = Field(None, alias="globalSidebets")


class HistorySidebet(_Model):
    """A `globalSidebets` record of a gameHistory round: `placed` (`startedAtTick, end`)
    or `payout` (`startTick, endTick, payout`: the real settlement, 0 when lost)."""

    type: Literal["placed", "payout"]
    player_id: str = Field(alias="playerId", min_length=1, max_length=128)
    username: str | None = None
    started_at_tick: Tick | None = Field(None, alias="startedAtTick")
    end: Tick | None = None
    start_tick: Tick | None = Field(None, alias="startTick")
    end_tick: Tick | None = Field(None, alias="endTick")
    bet_amount: float | None = Field(None, alias="betAmount", ge=0)
    x_payout: float | None = Field(None, alias="xPayout", gt=0)
    payout: float | None = Field(None, ge=0)
    timestamp: float | None = None


class ReplayerLine(_Model):
    """A line of the bot's REPLAYER per-tick recordings: `game_start`, `tick` (`tick,
    price, active, rugged`, ...) or `game_end` (a summary, not used). Lines of other
    types are not data the import needs, and are passed over."""

    type: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    game_id: str | None = Field(None, min_length=1, max_length=64)
    timestamp: str | float
    tick: Tick | None = None
    price: float | None = Field(None, ge=0)
    active: bool = False
    rugged: bool = False


class GameStateUpdate(_Model):
    """The public tick feed (~4/s); on round transitions it also carries gameHistory."""

    game_id: str = Field(alias="gameId", min_length=1, max_length=64)
    active: bool = False
    rugged: bool = False
    price: float | None = Field(None, ge=0)
    tick_count: Tick | None = Field(None, alias="tickCount")
    trade_count: int | None = Field(None, alias="tradeCount")
    cooldown_timer: float | None = Field(None, alias="cooldownTimer")
    cooldown_paused: bool | None = Field(None, alias="cooldownPaused")
    allow_pre_round_buys: bool | None = Field(None, alias="allowPreRoundBuys")
    connected_players: int | None = Field(None, alias="connectedPlayers")
    partial_prices: PartialPrices | None = Field(None, alias="partialPrices")
    provably_fair: ProvablyFair | None = Field(None, alias="provablyFair")
    leaderboard: list[LeaderboardEntry] = Field(default_factory=list)
    game_history: list[GameHistoryEntry] = Field(default_factory=list, alias="gameHistory")


class NewTrade(_Model):
    """`standard/newTrade`: every player's trade, including the forced sells at a rug."""

    id: str | None = Field(None, min_length=1, max_length=128)
    game_id: str = Field(alias="gameId", min_length=1, max_length=64)
    player_id: str | None = Field(None, alias="playerId", max_length=128)
    username: str | None = None
    level: Int4 | None = None
    type: Literal["buy", "sell", "short_open", "short_close"]
    amount: float | None = None
    qty: float | None = None
    price: float | None = Field(None, ge=0)
    tick_index: Tick | None = Field(None, alias="tickIndex")
    coin: str | None = None
    leverage: Int4 | None = Field(None, ge=1)


class CurrentSidebet(_Model):
    """The authenticated player's sidebet as placed (the message may not name the player)."""

    game_id: str | None = Field(None, alias="gameId", max_length=64)
    player_id: str | None = Field(None, alias="playerId", max_length=128)
    bet_amount: float = Field(alias="betAmount", ge=0)
    x_payout: float | None = Field(None, alias="xPayout", gt=0)
    start_tick: Tick = Field(alias="startTick")
    end_tick: Tick | None = Field(None, alias="endTick")


class CurrentSidebetResult(_Model):
    """The settlement of the authenticated player's sidebet: payout 0 means lost."""

    game_id: str | None = Field(None, alias="gameId", max_length=64)
    player_id: str | None = Field(None, alias="playerId", max_length=128)
    start_tick: Tick | None = Field(None, alias="startTick")
    payout: float = Field(ge=0)
    profit: float | None = None
    won: bool | None = None


class PlayerUpdate(_Model):
    """The authenticated player's balance and position (kept raw; typed for consumers)."""

    cash: float | None = None
    position_qty: float | None = Field(None, alias="positionQty")
    avg_cost: float | None = Field(None, alias="avgCost")
    cumulative_pnl: float | None = Field(None, alias="cumulativePnL")


Message = GameStateUpdate | NewTrade | CurrentSidebet | CurrentSidebetResult | PlayerUpdate

TRACE = "__trace"  # the event name given to a standalone trace preamble

MODELS: dict[str, type[_Model]] = {
    "gameStateUpdate": GameStateUpdate,
    "standard/newTrade": NewTrade,
    "currentSidebet": CurrentSidebet,
    "currentSidebetResult": CurrentSidebetResult,
    "playerUpdate": PlayerUpdate,
}


class Envelope(NamedTuple):
    """One usable event: its name, typed message (None for untyped events), raw data. A
    NamedTuple: immutable, and several times cheaper to build than a frozen dataclass."""

    event: str
    data: Any
    message: Message | None
    time: datetime | None
    source: str
    seq: int | None = None
    direction: str | None = None
    traceparent: str | None = None

    @property
    def is_trace(self) -> bool:
        return self.event == TRACE

    @property
    def game_id(self) -> str | None:
        game_id = getattr(self.message, "game_id", None)
        if game_id is None and isinstance(self.data, dict):
            value = self.data.get("gameId")
            game_id = value if isinstance(value, str) and value else None
        return game_id


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message we cannot use, and why (for `file:line: reason` and dead letters)."""

    reason: str


def parse_envelope(obj: dict | list | str | bytes, *, source: str) -> Envelope | Rejected:
    """Validate one message in either envelope; never raises on bad input."""
    if isinstance(obj, bytes | bytearray | str):
        try:
            obj = orjson.loads(obj)
        except orjson.JSONDecodeError as exc:
            return Rejected(f"not JSON: {exc}")
    traceparent, obj = _strip_trace(obj)
    if not isinstance(obj, dict):
        return Rejected(f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("__trace") is True and "event" not in obj:
        # a preamble sent as a message of its own: nothing to store, nothing wrong
        tp = obj.get("traceparent")
        return Envelope(
            TRACE, obj, None, None, source, traceparent=tp if isinstance(tp, str) else None
        )
    event = obj.get("event")
    stamp = "ts" if "ts" in obj else "time" if "time" in obj else None
    if event is None and "event_type" in obj:  # the bot's raw websocket captures
        event = obj["event_type"]
        stamp = stamp or ("timestamp" if "timestamp" in obj else None)
    if not isinstance(event, str) or not _is_event_name(event):
        return Rejected("event: missing or not an event name")
    if "data" not in obj:
        return Rejected("data: missing")
    trace_in_data, data = _strip_trace(obj["data"])
    if (
        isinstance(data, dict)
        and data.get("__trace") is True
        and isinstance(data.get("traceparent"), str)
    ):
        trace_in_data = data["traceparent"]
    traceparent = traceparent or trace_in_data
    time = None
    if stamp is not None:
        time = parse_time(obj[stamp])
        if time is None:
            return Rejected(f"{stamp}: not a timestamp (ISO 8601 or epoch seconds/milliseconds)")
    seq = obj.get("seq")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
        return Rejected("seq: not an integer")
    model = MODELS.get(event)
    message = None
    if model is not None:
        if isinstance(data, list) and len(data) == 1:  # a Socket.IO argument list
            data = data[0]
        if not isinstance(data, dict):
            return Rejected(f"{event}: data is not an object")
        try:
            message = model.model_validate(data)
        except ValidationError as exc:
            return Rejected(f"{event}: {first_error(exc)}")
    own_source = obj.get("source")
    direction = obj.get("direction")
    return Envelope(
        event=event,
        data=data,
        message=message,
        time=time,
        source=own_source if isinstance(own_source, str) and own_source else source,
        seq=seq,
        direction=direction if isinstance(direction, str) else None,
        traceparent=traceparent,
    )


def _is_event_name(name: str) -> bool:
    if name in _NAMES_SEEN:
        return True
    if not _EVENT_NAME.match(name):
        return False
    if len(_NAMES_SEEN) < 1024:  # a feed has a few dozen names; a flood adds none
        _NAMES_SEEN.add(name)
    return True


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (naive means UTC) or epoch seconds/milliseconds; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            return None
        seconds = value / 1000 if value > _MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _strip_trace(value: Any) -> tuple[str | None, Any]:
    """Split `[{"__trace": true, ...}, message]` into the traceparent and the message."""
    if not isinstance(value, list) or not value:
        return None, value
    head = value[0]
    if not (isinstance(head, dict) and head.get("__trace") is True):
        return None, value
    tp = head.get("traceparent")
    rest = value[1:]
    return (tp if isinstance(tp, str) else None), (rest[0] if len(rest) == 1 else rest)


def first_error(exc: ValidationError) -> str:
    """`field.path: message` of the first error (and how many more)."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "data"
    more = exc.error_count() - 1
    suffix = f" (and {more} more)" if more else ""
    return f"{where}: {err['msg']}{suffix}"
