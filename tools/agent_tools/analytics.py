"""Named game-analytics tools: typed, range-checked inputs over fixed, parameterized SQL.

Each tool validates its arguments (ranges, identifier patterns, the modes present in the
data), runs one function of `analytics_queries` on a pooled connection and returns
compact JSON. An argument the agent can fix raises ToolError naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from smolagents import Tool

from tools.agent_tools import analytics_queries as queries
from tools.agent_tools.base import ToolError, check_identifier, check_int, check_number, to_json
from tools.postgres import Database

MODE = re.compile(r"[a-z0-9_]{1,32}")  # as tools.ingest accepts
GAME_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PLAYER = re.compile(r"[^\x00-\x1f]{1,128}")
EVENT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_/.:-]{0,63}")
MAX_LAST_N = 100_000
MAX_SINCE_HOURS = 24 * 365
DEFAULT_CHECKPOINTS = (5, 40, 100, 138, 200, 300, 500)

WINDOW_INPUTS: dict[str, dict[str, Any]] = {
    "mode": {
        "type": "string",
        "description": "Game mode to restrict to (e.g. 'classic'); omit for all modes.",
        "nullable": True,
    },
    "last_n": {
        "type": "integer",
        "description": "Only the N most recently ended rounds (after the other filters).",
        "nullable": True,
        "minimum": 1,
        "maximum": MAX_LAST_N,
    },
    "since_hours": {
        "type": "number",
        "description": "Only rounds ended in the last H hours (0 < H <= 8760).",
        "nullable": True,
        "exclusiveMinimum": 0,
        "maximum": MAX_SINCE_HOURS,
    },
}


class _DatabaseTool(Tool):
    """Holds the pool and the optional list of modes; otherwise stateless and thread-safe."""

    output_type = "string"

    def __init__(self, database: Database, modes: Sequence[str] | None = None) -> None:
        super().__init__()
        self._database = database
        self._modes = tuple(modes) if modes else None
        if self._modes and "mode" in self.inputs:
            mode = {**self.inputs["mode"], "enum": list(self._modes)}
            self.inputs = {**self.inputs, "mode": mode}
        self.is_initialized = True

    def _window(
        self, mode: str | None, last_n: int | None, since_hours: float | None
    ) -> dict[str, Any]:
        return {
            "mode": self._mode(mode),
            "last_n": None if last_n is None else check_int(self.name, "last_n", last_n, 1,
                                                            MAX_LAST_N),
            "since_hours": None if since_hours is None else check_number(
                self.name, "since_hours", since_hours, 0, MAX_SINCE_HOURS),
        }  # fmt: skip

    def _mode(self, mode: str | None) -> str | None:
        if mode is None:
            return None
        if self._modes is not None and mode not in self._modes:
            raise ToolError(self.name, f"unknown mode {mode!r}; modes: {', '.join(self._modes)}",
                            "mode")  # fmt: skip
        return check_identifier(self.name, "mode", mode, MODE)

    def _no_rounds(self, result: dict[str, Any], mode: str | None) -> dict[str, Any]:
        """With nothing found, say which modes do have data so the agent can ask again."""
        if not result["games"]:
            with self._database.connection() as conn:
                result["modes_with_data"] = queries.modes_present(conn)
            if mode is not None and mode not in result["modes_with_data"]:
                result["note"] = f"no rounds of mode {mode!r} are stored"
        return result


class RoundStatisticsTool(_DatabaseTool):
    name = "round_statistics"
    description = (
        "Summary statistics of completed rounds (games) in a window: number of rounds; "
        "rug tick (the last tickCount of a round) mean, p10, median, p90, min, max; peak "
        "multiplier mean, median, p90, max; instarug_rate (share of rounds rugging at tick "
        "<= 5); reached_2x_rate (share whose peak reached 2.0x); first/last end times. "
        "Filter by mode, the last N rounds and/or the last H hours. Returns JSON."
    )
    inputs = WINDOW_INPUTS

    def forward(
        self, mode: str | None = None, last_n: int | None = None, since_hours: float | None = None
    ) -> str:
        window = self._window(mode, last_n, since_hours)
        with self._database.connection() as conn:
            result = queries.round_statistics(conn, **window)
        return to_json(self._no_rounds(result, window["mode"]))


class RugTickDistributionTool(_DatabaseTool):
    name = "rug_tick_distribution"
    description = (
        "Distribution of rug ticks of completed rounds in a window: a histogram (bins of "
        "bin_width ticks, the last bin open-ended after 100 bins), the empirical share of "
        "rounds still alive after each checkpoint tick, and the constant-hazard "
        "(geometric) fit: per-tick rug probability with its 95% CI, P(rug within 40 ticks) "
        "and the survival that fit implies, to compare with the empirical one. Returns JSON."
    )
    inputs = {
        **WINDOW_INPUTS,
        "bin_width": {
            "type": "integer",
            "description": "Histogram bin width in ticks (1-1000, default 25).",
            "nullable": True,
            "minimum": 1,
            "maximum": 1000,
        },
        "checkpoints": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Ticks at which to report survival (1-20 values in 1-5000; "
            "default 5, 40, 100, 138, 200, 300, 500).",
            "nullable": True,
        },
    }

    def forward(
        self,
        mode: str | None = None,
        last_n: int | None = None,
        since_hours: float | None = None,
        bin_width: int | None = None,
        checkpoints: list[int] | None = None,
    ) -> str:
        window = self._window(mode, last_n, since_hours)
        width = 25 if bin_width is None else check_int(self.name, "bin_width", bin_width, 1, 1000)
        ticks = self._checkpoints(checkpoints)
        with self._database.connection() as conn:
            result = queries.rug_tick_distribution(
                conn, **window, bin_width=width, checkpoints=ticks
            )
        return to_json(self._no_rounds(result, window["mode"]))

    def _checkpoints(self, checkpoints: list[int] | None) -> list[int]:
        if checkpoints is None:
            return list(DEFAULT_CHECKPOINTS)
        if not isinstance(checkpoints, list) or not 1 <= len(checkpoints) <= 20:
            raise ToolError(self.name, "checkpoints must be a list of 1 to 20 ticks", "checkpoints")
        return sorted({check_int(self.name, "checkpoints", t, 1, 5000) for t in checkpoints})


class PricePathTool(_DatabaseTool):
    name = "round_price_path"
    description = (
        "The price path of one round (game_id like '20251107-0a1b2c3d4e5f6789'): its mode, "
        "rug tick, peak multiplier, final price, times, the number of stored ticks, and up "
        "to max_points [tick, price] points evenly spaced over the round (first, last and "
        "the highest stored price always included), plus the stored peak. Returns JSON."
    )
    inputs = {
        "game_id": {"type": "string", "description": "The round's id (games.game_id)."},
        "max_points": {
            "type": "integer",
            "description": "Most points to return (10-500, default 100).",
            "nullable": True,
            "minimum": 10,
            "maximum": 500,
        },
    }

    def forward(self, game_id: str, max_points: int | None = None) -> str:
        game_id = check_identifier(self.name, "game_id", game_id, GAME_ID)
        points = 100 if max_points is None else check_int(self.name, "max_points", max_points,
                                                          10, 500)  # fmt: skip
        with self._database.connection() as conn:
            result = queries.price_path(conn, game_id=game_id, max_points=points)
        if result is None:
            raise ToolError(
                self.name,
                f"no round with game_id {game_id!r}; find ids with round_statistics' time "
                "range or query_database on games",
                "game_id",
            )
        return to_json(result)


class PlayerTradesTool(_DatabaseTool):
    name = "player_recent_trades"
    description = (
        "A player's most recent trades (newest first: time, game_id, tick, type "
        "buy|sell|short_open|short_close, amount in SOL, qty, price, leverage) and a summary "
        "of all their trades matching the filters (count, SOL amount and rounds per type). "
        "Give exactly one of player_id or username; optionally one game_id. Returns JSON."
    )
    inputs = {
        "player_id": {"type": "string", "description": "The player's id.", "nullable": True},
        "username": {"type": "string", "description": "The player's username.", "nullable": True},
        "game_id": {"type": "string", "description": "Only this round.", "nullable": True},
        "limit": {
            "type": "integer",
            "description": "Trades to list (1-200, default 20).",
            "nullable": True,
            "minimum": 1,
            "maximum": 200,
        },
    }

    def forward(
        self,
        player_id: str | None = None,
        username: str | None = None,
        game_id: str | None = None,
        limit: int | None = None,
    ) -> str:
        if (player_id is None) == (username is None):
            raise ToolError(self.name, "give exactly one of player_id or username", "player_id")
        if player_id is not None:
            player_id = check_identifier(self.name, "player_id", player_id, PLAYER)
        if username is not None:
            username = check_identifier(self.name, "username", username, PLAYER)
        if game_id is not None:
            game_id = check_identifier(self.name, "game_id", game_id, GAME_ID)
        count = 20 if limit is None else check_int(self.name, "limit", limit, 1, 200)
        with self._database.connection() as conn:
            result = queries.player_trades(
                conn, player_id=player_id, username=username, game_id=game_id, limit=count
            )
        if result["player"] is None and not result["trades_total"]:
            who = f"player_id {player_id!r}" if player_id else f"username {username!r}"
            raise ToolError(self.name, f"no player or trades found for {who}", "player_id")
        return to_json(result)


class SidebetOutcomesTool(_DatabaseTool):
    name = "sidebet_outcomes"
    description = (
        "Outcomes of sidebets (the 40-tick rug bet paying payout_factor, 5 by default): "
        "resolved, won, lost and still open counts; win_rate with a Wilson 95% CI; SOL "
        "staked, returned (payout as recorded) and net; the breakeven win rate under both "
        "readings of the payout (5x total returned: 20%; 5x profit: 16.67%). Filter by "
        "mode, player_id and the last H hours. Returns JSON."
    )
    inputs = {
        "mode": WINDOW_INPUTS["mode"],
        "player_id": {"type": "string", "description": "Only this player.", "nullable": True},
        "since_hours": WINDOW_INPUTS["since_hours"],
    }

    def forward(
        self,
        mode: str | None = None,
        player_id: str | None = None,
        since_hours: float | None = None,
    ) -> str:
        mode = self._mode(mode)
        if player_id is not None:
            player_id = check_identifier(self.name, "player_id", player_id, PLAYER)
        if since_hours is not None:
            since_hours = check_number(self.name, "since_hours", since_hours, 0, MAX_SINCE_HOURS)
        with self._database.connection() as conn:
            result = queries.sidebet_outcomes(
                conn, mode=mode, player_id=player_id, since_hours=since_hours
            )
        return to_json(result)


class RecentEventsTool(_DatabaseTool):
    name = "recent_live_events"
    description = (
        "The newest raw protocol events received from the live feed (websocket_events), "
        "newest first, each with time, event_type (e.g. gameStateUpdate, standard/newTrade, "
        "currentSidebet, currentSidebetResult, playerUpdate), game_id, source and the "
        "payload's scalar fields (arrays and objects such as leaderboard are listed in "
        "omitted_fields), plus event counts and latest time per type under the same "
        "filters. Use it to see what is happening now. Returns JSON."
    )
    inputs = {
        "event_type": {"type": "string", "description": "Only this event.", "nullable": True},
        "game_id": {"type": "string", "description": "Only this round.", "nullable": True},
        "since_minutes": {
            "type": "number",
            "description": "Only the last M minutes (0 < M <= 10080).",
            "nullable": True,
            "exclusiveMinimum": 0,
            "maximum": 10080,
        },
        "limit": {
            "type": "integer",
            "description": "Events to list (1-50, default 10).",
            "nullable": True,
            "minimum": 1,
            "maximum": 50,
        },
    }

    def forward(
        self,
        event_type: str | None = None,
        game_id: str | None = None,
        since_minutes: float | None = None,
        limit: int | None = None,
    ) -> str:
        if event_type is not None:
            event_type = check_identifier(self.name, "event_type", event_type, EVENT_TYPE)
        if game_id is not None:
            game_id = check_identifier(self.name, "game_id", game_id, GAME_ID)
        if since_minutes is not None:
            since_minutes = check_number(self.name, "since_minutes", since_minutes, 0, 10080)
        count = 10 if limit is None else check_int(self.name, "limit", limit, 1, 50)
        with self._database.connection() as conn:
            result = queries.recent_events(
                conn, event_type=event_type, game_id=game_id, since_minutes=since_minutes,
                limit=count,
            )  # fmt: skip
        return to_json(result)


ANALYTICS_TOOLS = (
    RoundStatisticsTool,
    RugTickDistributionTool,
    PricePathTool,
    PlayerTradesTool,
    SidebetOutcomesTool,
    RecentEventsTool,
)
