"""Questions about the recorded data: counts, round statistics, one round, one player,
sidebet outcomes. Each runs a named analytics query (tools/agent_tools/analytics_queries)."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent, need
from capabilities.chat.slots import Slots, recorded_when, window_text
from capabilities.chat.text import num, pct, sol
from capabilities.engines.runtime.evidence import Evidence
from tools.agent_tools import analytics_queries as queries

ROUND_Q = "Which round? Give its id (YYYYMMDD-<16 hex>, as in the game history)."
PLAYER_Q = "Which player? Give their id or username (e.g. 'player Alice')."


def _query(context: ChatContext, function: Any, **arguments: Any) -> Any:
    with context.database.connection() as conn:
        return function(conn, **arguments)


def round_count(context: ChatContext, slots: Slots, found: Evidence) -> str:
    window = {"mode": slots.mode, "last_n": None, "since_hours": slots.since_hours}

    def round_statistics(**kw: Any) -> dict[str, Any]:
        return _query(context, queries.round_statistics, **kw)

    r = found.call(round_statistics, **window)
    where = f" of mode {slots.mode}" if slots.mode else ""
    if not r["games"]:
        return f"No completed rounds{where} are recorded{recorded_when(slots)}."
    return (
        f"{r['games']} completed rounds{where} recorded{recorded_when(slots)} "
        f"(the last ended {r['last_ended_at']:%Y-%m-%d %H:%M} UTC); median rug tick "
        f"{num(r['rug_tick']['median'])}."
    )


def round_stats(context: ChatContext, slots: Slots, found: Evidence) -> str:
    window = {"mode": slots.mode, "last_n": slots.last_n, "since_hours": slots.since_hours}

    def round_statistics(**kw: Any) -> dict[str, Any]:
        return _query(context, queries.round_statistics, **kw)

    r = found.call(round_statistics, **window)
    if not r["games"]:
        return f"No completed rounds are recorded{recorded_when(slots)}."
    rug, peak = r["rug_tick"], r["peak_multiplier"]
    return (
        f"Over {r['games']} rounds ({window_text(slots)}): rug tick mean {num(rug['mean'])}, "
        f"median {num(rug['median'])} (p10 {num(rug['p10'])}, p90 {num(rug['p90'])}); peak "
        f"multiplier median {num(peak['median'])}x, max {num(peak['max'])}x; "
        f"{pct(r['instarug_rate'])} instarugs, {pct(r['reached_2x_rate'])} reached 2x."
    )


def round_detail(context: ChatContext, slots: Slots, found: Evidence) -> str:
    game_id = need(slots, "game_id", ROUND_Q)

    def price_path(**kw: Any) -> dict[str, Any] | None:
        return _query(context, queries.price_path, **kw)

    r = found.call(price_path, game_id=game_id, max_points=20)
    if r is None:
        return f"Round {game_id} is not in the recorded data."
    return (
        f"Round {game_id} ({r['mode']}) rugged at tick {r['rug_tick']} after peaking at "
        f"{num(r['peak_multiplier'])}x; final price {num(r['final_price'])}x; "
        f"{r['ticks_stored']} ticks stored."
    )


def player(context: ChatContext, slots: Slots, found: Evidence) -> str:
    who = need(slots, "player", PLAYER_Q)

    def player_trades(**kw: Any) -> dict[str, Any]:
        by_id = _query(context, queries.player_trades, player_id=kw["player"], username=None,
                       game_id=None, limit=5)  # fmt: skip
        if by_id["trades_total"] or by_id["player"]:
            return by_id
        return _query(context, queries.player_trades, player_id=None, username=kw["player"],
                      game_id=None, limit=5)  # fmt: skip

    r = found.call(player_trades, player=who)
    if not r["trades_total"] and not r["player"]:
        return f"No player {who!r} appears in the recorded trades or players."
    p = r["player"] or {}
    kinds = ", ".join(f"{v['count']} {k}" for k, v in r["by_type"].items()) or "no trades"
    games = max((v["games"] for v in r["by_type"].values()), default=0)
    return (
        f"Player {p.get('username') or who} (id {p.get('player_id', who)}, level "
        f"{num(p.get('level'))}): {r['trades_total']} trades ({kinds}) in at least {games} "
        f"rounds."
    )


def sidebets(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def sidebet_outcomes(**kw: Any) -> dict[str, Any]:
        return _query(context, queries.sidebet_outcomes, **kw)

    r = found.call(
        sidebet_outcomes, mode=slots.mode, player_id=slots.player, since_hours=slots.since_hours
    )
    if not r["resolved"]:
        return f"No resolved sidebets are recorded{recorded_when(slots)}."
    lo, hi = r["win_rate_ci95"]
    return (
        f"{r['resolved']} resolved sidebets ({window_text(slots)}): {r['won']} won, win rate "
        f"{pct(r['win_rate'])} (95% CI {pct(lo)} to {pct(hi)}); net {sol(r['net'])}."
    )


INTENTS = (
    Intent(
        name="data.round_count",
        capability="data",
        description="how many rounds were recorded (in a time window)",
        examples=(
            "how many rounds did we record today?",
            "how many games were recorded in the last 24 hours",
            "number of rounds stored this week",
            "how many rounds do we have",
            "count the games from yesterday",
            "how much data have we collected",
            "how many rounds came in in the last hour",
            "how many rounds have we recorded",
            "count the games stored in the last 12 hours",
            "number of rounds captured since yesterday",
            "how many games came in the past hour",
            "total rounds in storage",
            "did the recorder save any rounds this week",
            "round count for the past 3 days",
            "how big is our dataset of rounds",
        ),
        handler=round_count,
        avoids=("game_id",),
        cues=(
            r"\bhow many (rounds|games)\b",
            # not "recorded": statistics are of recorded rounds too
            r"\b(number of|count|total|tally)\b",
        ),
    ),
    Intent(
        name="data.round_stats",
        capability="data",
        description="statistics of recorded rounds (rug ticks, peaks, instarugs)",
        examples=(
            "what's the average rug tick",
            "how long do rounds usually last",
            "show me round statistics for the last 500 rounds",
            "what share of rounds reach 2x",
            "how often are there instarugs",
            "median peak multiplier today",
            "summarize recent games",
            "what is the typical peak of a round",
            "how often does a round rug right at the start",
            "what's the longest round we have seen",
            "average peak multiplier of the recorded rounds",
            "what share of games instarug",
            "median rug tick over the last 300 rounds",
            "how often do games get above 5x",
            "distribution of round lengths",
            "what's the typical peak before a rug",
            "p99 rug tick",
            "statistics of recent rounds: peaks and rug ticks",
        ),
        handler=round_stats,
        avoids=("game_id",),
        cues=(
            r"\b(average|mean|median|typical|stats|statistics|distribution|p\d\d|percentiles?|rate)\b",
            r"\b(how often|share|fraction|percent(age)?)\b.*\b(rounds?|games?|2x|instarug)"
            r"|\b(past|above|over|beyond|reach\w*) \d+(\.\d+)?x\b|\bas a (share|fraction)\b",
        ),
    ),
    Intent(
        name="data.round",
        capability="data",
        description="what happened in one round",
        examples=(
            "what happened in round 20250101-0123456789abcdef",
            "show me round 20250101-0123456789abcdef",
            "when did round 20250101-0123456789abcdef rug",
            "how high did game 20250101-0123456789abcdef go",
            "details of round 20250101-0123456789abcdef",
            "what happened in round 20250202-00112233445566ff",
            "show me round 20250202-00112233445566ff",
            "when did 20250202-00112233445566ff rug",
            "how high did game 20250202-00112233445566ff go",
            "give me the details of round 20250202-00112233445566ff",
            "how many ticks did 20250202-00112233445566ff last",
            "peak and rug tick of round 20250202-00112233445566ff",
            "summary of game 20250202-00112233445566ff",
        ),
        handler=round_detail,
        expects="game_id",
        avoids=("bot_id",),  # a bot named in a round asks why it acted there (analyst.why)
        cues=(
            r"\bwhat happened\b",
            r"\b(how did|details of)\b.*\bround\b",
        ),
    ),
    Intent(
        name="data.sidebets",
        capability="data",
        description="sidebet outcomes (win rate, net)",
        examples=(
            "what's the sidebet win rate",
            "how often do sidebets win",
            "how much did sidebets return today",
            "sidebet results this week",
            "are sidebets profitable overall",
            "sidebet win rate over the last 500 rounds",
            "how much have side bets paid out in total",
            "are sidebets a winning proposition",
            "net result of sidebets this week",
            "percentage of side bets that hit",
            "sidebets won and lost today",
            "how did side bets perform yesterday",
            "total sidebet profit so far",
        ),
        handler=sidebets,
        cues=(
            r"\bside ?bets?\b.*\b(win rate|pay off|profitable|results?|returns?|won|total|net)\b"
            r"|\b(total|net)\b.*\bside ?bets?\b",
            r"\b(win rate|pay off|profitable|today|yesterday|this week|last week|so far)\b",
        ),
    ),
)
