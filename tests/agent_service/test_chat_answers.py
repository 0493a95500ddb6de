"""Each intent answers from its capability's numbers, end to end through `POST /v1/chat`
with no language model: the figure the capability returned (the turn's evidence) is the
figure the answer quotes, formatted as the chat writes numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from capabilities.chat.text import num, pct, sol

GAME = "20260106-00000000000000b2"
Figures = dict[str, Any]
CASES: list[tuple[str, str, str, Callable[[Figures], str]]] = [
    ("should I cash out at 2.4x on tick 180", "coach.sell_now", "coach_strategy",
     lambda f: sol(f["actions"]["sell"]["expected_value"])),
    ("is a side bet at tick 90 worth it", "coach.bet_now", "coach_strategy",
     lambda f: pct(f["actions"]["sidebet"]["probability_of_loss"])),
    ("how likely is a rug by tick 300 in fast rug", "models.rug_chance", "rug_hazard_model",
     lambda f: pct(f["rug_within_window"])),
    ("how volatile is the price per tick in high volatility", "models.price", "price_model",
     lambda f: num(f["volatility_per_tick"])),
    ("would the hybrid block a sidebet at tick 150", "hybrid.decide", "hybrid_policy",
     lambda f: sol(f["expected_loss"])),
    ("how much worse than the oracle is the baseline", "training.compare_oracle",
     "policy_scores", lambda f: sol(-f["scores"]["ppo_minus_oracle"])),
    ("which scenarios should training focus on next", "curriculum.next", "curriculum_next",
     lambda f: f["scenarios"][0]["id"]),
    ("is my reward shaping costing me money", "rewards.ask", "reward_review",
     lambda f: sol(f["ev_lost_per_round"])),
    ("was holding at tick 250 a mistake", "analyst.explain", "analyst_explain",
     lambda f: sol(f["expected_value"])),
    ("how many rounds have been recorded in the last 2 hours", "data.round_count",
     "round_statistics", lambda f: f"{f['games']} completed rounds"),
    ("what's the typical rug tick across stored games", "data.round_stats",
     "round_statistics", lambda f: f"rug tick mean {num(f['rug_tick']['mean'])}"),
    (f"how high did {GAME} go", "data.round", "price_path",
     lambda f: f"peaking at {num(f['peak_multiplier'])}x"),
]  # fmt: skip


@pytest.fixture
def stored_round(pg_dsn: str) -> None:
    """One completed classic round, so the data intents have a number to quote."""
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(
            "INSERT INTO games (game_id, mode, started_at, ended_at, rug_tick, peak_multiplier,"
            " final_price) VALUES (%s, 'classic', now() - interval '3 min', now() -"
            " interval '1 min', 140, 2.35, 0.02) ON CONFLICT DO NOTHING",
            (GAME,),
        )


@pytest.mark.parametrize(("message", "intent", "source", "figure"), CASES,
                         ids=[c[1] for c in CASES])  # fmt: skip
def test_the_answer_quotes_the_capability_s_figure(
    client, auth, stored_round, message, intent, source, figure
):
    r = client.post("/v1/chat", json={"message": message}, headers=auth)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["intent"] == intent and body["clarification"] is None, body
    [evidence] = [e for e in body["evidence"] if e["source"] == source]
    assert evidence["ok"] and evidence["figures"], evidence
    assert figure(evidence["figures"]) in body["answer"], (body["answer"], evidence["figures"])
    assert "not available" not in body["answer"] and "does not drive it" not in body["answer"]


def test_my_bot_against_the_oracle_says_when_the_baseline_stands_in(client, auth):
    """Asked about "my bot" with only the built-in baseline stored, the answer says the
    figures are the baseline's; the policy's mode is named once ("PPO baseline (classic)",
    not "... (classic) (classic)")."""
    body = client.post(
        "/v1/chat", json={"message": "compare my bot with the oracle in classic"}, headers=auth
    ).json
    assert body["intent"] == "training.compare_oracle", body
    [evidence] = [e for e in body["evidence"] if e["source"] == "policy_scores"]
    scored = evidence["figures"]
    assert "(classic) (classic)" not in body["answer"]
    assert f"Policy {scored['name']}" in body["answer"]
    if scored["builtin"]:  # no policy trained in this session's database
        assert "built-in baseline's figures, not your bot's" in body["answer"], body["answer"]
    else:
        assert "not your bot's" not in body["answer"]
