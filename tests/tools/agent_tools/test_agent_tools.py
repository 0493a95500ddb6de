"""The named analytics and alert tools against real backends, and the registry."""

from __future__ import annotations

import json
import time
import uuid

import pika
import pytest
from smolagents import ToolCallingAgent
from smolagents.models import (
    ChatMessage,
    ChatMessageToolCall,
    ChatMessageToolCallFunction,
    MessageRole,
    Model,
)
from smolagents.tools import validate_tool_arguments

from tests.tools.agent_tools.conftest import G, table_fingerprint
from tools.agent_tools import ToolError, build_tools
from tools.agent_tools.analytics import (
    PlayerTradesTool,
    PricePathTool,
    RecentEventsTool,
    RoundStatisticsTool,
    RugTickDistributionTool,
    SidebetOutcomesTool,
)
from tools.agent_tools.analytics_queries import wilson_interval
from tools.amqp import connection_parameters
from tools.publisher import EventPublisher

EXPECTED_NAMES = [
    "round_statistics",
    "rug_tick_distribution",
    "round_price_path",
    "player_recent_trades",
    "sidebet_outcomes",
    "recent_live_events",
    "query_database",
    "opponent_profile",
]


def call(tool, **kwargs):
    return json.loads(tool(**kwargs))


# -- round statistics: classic rug ticks 3, 50, 120, 250; peaks 1.05, 2.0, 3.0, 1.5
def test_round_statistics_over_a_mode(seeded_db):
    result = call(RoundStatisticsTool(seeded_db), mode="classic")
    assert result["games"] == 4  # the running round g6 is not counted
    assert result["rug_tick"] == {
        "mean": 105.75,
        "p10": pytest.approx(17.1),  # 3 + 0.3 * (50 - 3)
        "median": 85.0,
        "p90": pytest.approx(211.0),  # 120 + 0.7 * (250 - 120)
        "min": 3,
        "max": 250,
    }
    assert result["peak_multiplier"]["mean"] == pytest.approx(1.8875)
    assert result["peak_multiplier"]["median"] == pytest.approx(1.75)
    assert result["instarug_rate"] == 0.25
    assert result["reached_2x_rate"] == 0.5


def test_round_statistics_windows(seeded_db):
    tool = RoundStatisticsTool(seeded_db)
    last_two = call(tool, mode="classic", last_n=2)
    assert last_two["games"] == 2 and last_two["rug_tick"]["mean"] == 185.0  # g3, g4
    recent = call(tool, since_hours=2.5)  # g3, g4 and the fast_rug g5
    assert recent["games"] == 3 and recent["rug_tick"]["min"] == 10
    assert call(tool)["games"] == 5


def test_round_statistics_unknown_mode_lists_modes_with_data(seeded_db):
    result = call(RoundStatisticsTool(seeded_db), mode="no_such_mode")
    assert result["games"] == 0
    assert result["modes_with_data"] == ["classic", "fast_rug"]
    with pytest.raises(ToolError, match="mode 'Classic; DROP' is not a valid mode"):
        RoundStatisticsTool(seeded_db)(mode="Classic; DROP")
    with pytest.raises(ToolError, match=r"unknown mode 'hard'; modes: classic, fast_rug"):
        RoundStatisticsTool(seeded_db, ["classic", "fast_rug"])(mode="hard")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"last_n": 0}, r"last_n must be in \[1, 100000\], got 0"),
        ({"last_n": 2.5}, "last_n must be a whole number"),
        ({"since_hours": -1}, r"since_hours must be in \(0, 8760\]"),
        ({"since_hours": float("nan")}, "since_hours must be a number"),
    ],
)
def test_window_ranges_are_checked(seeded_db, kwargs, message):
    with pytest.raises(ToolError, match=message):
        RoundStatisticsTool(seeded_db)(**kwargs)


# -- rug-tick distribution
def test_rug_tick_distribution_histogram_survival_and_fit(seeded_db):
    result = call(
        RugTickDistributionTool(seeded_db), mode="classic", bin_width=100,
        checkpoints=[40, 100, 200],
    )  # fmt: skip
    assert result["histogram"]["bins"] == [
        {"from": 0, "to": 100, "count": 2},
        {"from": 100, "to": 200, "count": 1},
        {"from": 200, "to": 300, "count": 1},
    ]
    assert result["survival"] == [
        {"tick": 40, "share_alive_after": 0.75},
        {"tick": 100, "share_alive_after": 0.5},
        {"tick": 200, "share_alive_after": 0.25},
    ]
    fit = result["constant_hazard_fit"]
    p = 4 / 423  # rounds / total rug ticks
    assert fit["per_tick_rug_probability"] == pytest.approx(p, rel=1e-5)
    assert fit["p_rug_within_40_ticks"] == pytest.approx(1 - (1 - p) ** 40, rel=1e-5)
    lo, hi = fit["ci95"]
    assert lo < p < hi


def test_rug_tick_histogram_tail_bin_is_open_ended(seeded_db):
    bins = call(RugTickDistributionTool(seeded_db), mode="classic", bin_width=1)["histogram"]
    # 100 bins of one tick: 3 and 50 fall in their own bins, 120 and 250 in the open last one
    assert bins["bins"] == [
        {"from": 3, "to": 4, "count": 1},
        {"from": 50, "to": 51, "count": 1},
        {"from": 99, "to": None, "count": 2},
    ]


def test_rug_tick_checkpoints_are_validated(seeded_db):
    with pytest.raises(ToolError, match=r"checkpoints must be in \[1, 5000\]"):
        RugTickDistributionTool(seeded_db)(checkpoints=[0])
    with pytest.raises(ToolError, match="1 to 20 ticks"):
        RugTickDistributionTool(seeded_db)(checkpoints=list(range(1, 30)))


# -- price path: g2 has prices 1 + t/49 for t = 0..49; g3 peaks at 3.0 on tick 60
def test_price_path_downsamples_keeping_ends_and_peak(seeded_db):
    tool = PricePathTool(seeded_db)
    result = call(tool, game_id=G[2], max_points=10)
    assert result["ticks_stored"] == 50 and result["rug_tick"] == 50
    assert result["downsampled"] is True and len(result["points"]) <= 10
    assert result["points"][0] == [0, 1.0] and result["points"][-1] == [49, 2.0]
    ticks = [t for t, _ in result["points"]]
    assert ticks == sorted(ticks)
    triangle = call(tool, game_id=G[3], max_points=10)
    assert [60, 3.0] in triangle["points"]
    assert triangle["stored_peak"] == {"tick": 60, "price": 3.0}
    full = call(tool, game_id=G[1])
    assert full["points"] == [[0, 1.0], [1, 1.05], [2, 1.02]] and full["downsampled"] is False


def test_price_path_of_an_unknown_round_is_a_tool_error(seeded_db):
    with pytest.raises(ToolError, match="no round with game_id '20990101-ffffffffffffffff'"):
        PricePathTool(seeded_db)(game_id="20990101-ffffffffffffffff")
    with pytest.raises(ToolError, match="max_points"):
        PricePathTool(seeded_db)(game_id=G[1], max_points=5)


# -- player trades: alice (p1) has t1 buy 0.1, t2 sell 0.14, t3 buy 0.2, t4 short_open 0.05
def test_player_recent_trades_newest_first_with_summary(seeded_db):
    result = call(PlayerTradesTool(seeded_db), username="alice", limit=3)
    assert result["player"]["player_id"] == "p1" and result["player"]["level"] == 12
    assert result["trades_total"] == 4 and result["truncated"] is True
    assert [(t["type"], t["amount"]) for t in result["trades"]] == [
        ("short_open", 0.05),
        ("buy", 0.2),
        ("sell", 0.14),
    ]
    assert result["by_type"]["buy"] == {"count": 2, "amount": pytest.approx(0.3), "games": 2}
    assert result["by_type"]["sell"]["count"] == 1
    one_game = call(PlayerTradesTool(seeded_db), player_id="p1", game_id=G[2])
    assert one_game["trades_total"] == 2 and one_game["truncated"] is False


def test_player_trades_input_errors(seeded_db):
    tool = PlayerTradesTool(seeded_db)
    with pytest.raises(ToolError, match="exactly one of player_id or username"):
        tool(player_id="p1", username="alice")
    with pytest.raises(ToolError, match="no player or trades found for player_id 'ghost'"):
        tool(player_id="ghost")


# -- sidebets: classic resolved g2 won, g3 lost (alice), g3 won, g4 lost (bob); g4 open
def test_sidebet_outcomes_with_wilson_interval(seeded_db):
    result = call(SidebetOutcomesTool(seeded_db), mode="classic")
    assert (result["resolved"], result["won"], result["lost"], result["open"]) == (4, 2, 2, 1)
    assert result["win_rate"] == 0.5
    assert result["win_rate_ci95"] == [
        pytest.approx(0.150, abs=1e-3),
        pytest.approx(0.850, abs=1e-3),
    ]
    assert result["staked"] == pytest.approx(0.22) and result["returned"] == pytest.approx(0.55)
    assert result["net"] == pytest.approx(0.33)
    assert result["breakeven_win_rate"]["if_payout_is_total_return"] == 0.2
    assert result["breakeven_win_rate"]["if_payout_is_profit"] == pytest.approx(1 / 6, rel=1e-5)
    alice = call(SidebetOutcomesTool(seeded_db), player_id="p1")  # g2 won, g3 lost, g5 won
    assert (alice["resolved"], alice["won"], alice["open"]) == (3, 2, 1)
    recent = call(SidebetOutcomesTool(seeded_db), since_hours=1.5)  # g4 lost, g4 open, g5 won
    assert (recent["resolved"], recent["won"], recent["open"]) == (2, 1, 1)


def test_wilson_interval_known_values():
    assert wilson_interval(0, 10)[0] == 0.0
    lo, hi = wilson_interval(18, 100)
    # by hand: centre 0.199207 / 1.038415, half-width 1.96 * 0.039649 / 1.038415
    assert lo == pytest.approx(0.11700, abs=1e-5) and hi == pytest.approx(0.26667, abs=1e-5)


# -- recent events
def test_recent_live_events_newest_first_with_counts(seeded_db):
    result = call(RecentEventsTool(seeded_db), since_minutes=60, limit=2)
    assert result["counts_by_type"]["gameStateUpdate"]["count"] == 2  # k1, k3; k0 is older
    assert result["counts_by_type"]["standard/newTrade"]["count"] == 1
    first, second = result["events"]
    assert first["payload"] == {"tickCount": 4} and first["omitted_fields"] == ["leaderboard"]
    assert second["event_type"] == "standard/newTrade" and second["payload"]["amount"] == 0.5
    only = call(RecentEventsTool(seeded_db), event_type="gameStateUpdate", game_id=G[3])
    assert [e["payload"]["tickCount"] for e in only["events"]] == [100]
    with pytest.raises(ToolError, match="limit must be in"):
        RecentEventsTool(seeded_db)(limit=51)


def test_named_tools_never_write(seeded_db, seeded_dsn):
    before = table_fingerprint(seeded_dsn)
    for tool in build_tools(database=seeded_db, knowledge=None, publisher=None):
        if tool.name == "round_price_path":
            tool(game_id=G[2])
        elif tool.name == "player_recent_trades":
            tool(player_id="p2")
        elif tool.name == "query_database":
            tool(sql="SELECT count(*) FROM trades")
        elif tool.name == "opponent_profile":
            tool(player="p2")
        else:
            tool()
    assert table_fingerprint(seeded_dsn) == before


# -- registry and smolagents integration
def test_build_tools_names_and_schemas(seeded_db):
    tools = build_tools(database=seeded_db, knowledge=None, publisher=None, modes=["classic"])
    assert [t.name for t in tools] == EXPECTED_NAMES
    for tool in tools:
        tool.validate_arguments()  # smolagents' own check of the definition
        assert len(tool.description) > 80
    stats = tools[0]
    assert stats.inputs["mode"]["enum"] == ["classic"]
    assert RoundStatisticsTool.inputs["mode"].get("enum") is None  # class schema untouched
    validate_tool_arguments(stats, {"mode": "classic", "last_n": 10})
    with pytest.raises(TypeError):
        validate_tool_arguments(stats, {"last_n": "ten"})


class ScriptedModel(Model):
    """Returns a fixed sequence of tool calls, as a model would."""

    def __init__(self, calls: list[tuple[str, dict]]) -> None:
        super().__init__(model_id="scripted")
        self.calls = list(calls)

    def generate(
        self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs
    ):
        name, arguments = self.calls.pop(0)
        call_ = ChatMessageToolCall(
            id=uuid.uuid4().hex,
            type="function",
            function=ChatMessageToolCallFunction(name=name, arguments=arguments),
        )
        return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[call_])


def test_an_agent_sees_refusals_as_recoverable_errors(seeded_db, seeded_dsn):
    before = table_fingerprint(seeded_dsn)
    model = ScriptedModel(
        [
            ("query_database", {"sql": "DROP TABLE games"}),
            ("round_statistics", {"mode": "classic"}),
            ("final_answer", {"answer": "done"}),
        ]
    )
    tools = build_tools(database=seeded_db, knowledge=None, publisher=None)
    agent = ToolCallingAgent(tools=tools, model=model, max_steps=4, verbosity_level=0)
    assert agent.run("How long do classic rounds last?") == "done"
    refused, answered = agent.memory.steps[1], agent.memory.steps[2]
    assert "DROP is refused" in str(refused.error)
    assert '"games":4' in answered.observations
    assert table_fingerprint(seeded_dsn) == before


# -- publish alert (real RabbitMQ)
@pytest.fixture
def alert_queue(amqp_url):
    exchange = f"test.agent.alerts.{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(connection_parameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="alert.#")
    yield exchange, channel, queue
    channel.exchange_delete(exchange)
    connection.close()


def _get(channel, queue, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            return method, properties, json.loads(body)
        time.sleep(0.05)
    raise AssertionError("no message arrived")


def test_publish_alert_reaches_subscribers(amqp_url, alert_queue, seeded_db):
    exchange, channel, queue = alert_queue
    with EventPublisher(amqp_url, exchange=exchange) as publisher:
        tools = build_tools(database=seeded_db, knowledge=None, publisher=publisher)
        tool = next(t for t in tools if t.name == "publish_alert")
        result = call(tool, severity="warning", message="sidebet win rate 12% < 20%", game_id=G[2])
        method, properties, body = _get(channel, queue)
    assert method.routing_key == "alert.warning" and result["routing_key"] == "alert.warning"
    assert properties.message_id == result["message_id"]
    assert body["message"] == "sidebet win rate 12% < 20%" and body["game_id"] == G[2]
    assert body["severity"] == "warning" and body["source"] == "agent"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"severity": "panic", "message": "x"}, "severity must be one of info, warning, critical"),
        ({"severity": "info", "message": " "}, "message must be non-empty"),
        ({"severity": "info", "message": "x" * 501}, "message has 501 characters"),
        ({"severity": "info", "message": "a\x1bb"}, "control characters"),
        ({"severity": "info", "message": "x", "game_id": "a b"}, "not a valid game_id"),
    ],
)
def test_publish_alert_validates_before_publishing(
    amqp_url, alert_queue, seeded_db, kwargs, message
):
    exchange, channel, queue = alert_queue
    with EventPublisher(amqp_url, exchange=exchange) as publisher:
        tool = build_tools(database=seeded_db, knowledge=None, publisher=publisher)[-1]
        with pytest.raises(ToolError, match=message):
            tool(**kwargs)
    assert channel.basic_get(queue, auto_ack=True)[0] is None
