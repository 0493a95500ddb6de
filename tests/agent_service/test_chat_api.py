"""`POST /v1/chat` with no language model: intents answered from their capability's
numbers, follow-ups, clarifying questions, conversations stored, server-sent events."""

from __future__ import annotations

import json
import uuid

import psycopg


def _ask(client, auth, message, **body):
    r = client.post("/v1/chat", json={"message": message, **body}, headers=auth)
    assert r.status_code == 200, r.json
    return r.json


def test_a_question_then_a_follow_up_from_the_first_turn(client, auth, pg_dsn):
    first = _ask(client, auth, "what is the rug chance per tick?", mode="classic")
    assert (first["intent"], first["capability"]) == ("models.rug_chance", "models")
    assert first["generated_by"] == "deterministic" and first["clarification"] is None
    assert first["confidence"] >= 0.45 and first["turn"] == 1
    [hazard] = first["evidence"]
    assert hazard["source"] == "rug_hazard_model" and hazard["ok"]
    assert f"{100 * hazard['figures']['hazard_next_tick']:.1f}%" in first["answer"]

    second = _ask(client, auth, "and at tick 300?", conversation_id=first["conversation_id"])
    assert second["follow_up"] and second["intent"] == "models.rug_chance"
    assert second["slots"]["tick"] == 300 and second["slots"]["mode"] == "classic"
    assert second["turn"] == 2 and "tick 301" in second["answer"]
    with psycopg.connect(pg_dsn) as conn:
        turns = conn.execute(
            "SELECT turn, intent, slots->>'tick' FROM chat_turns WHERE conversation_id = %s"
            " ORDER BY turn",
            (first["conversation_id"],),
        ).fetchall()
        sources = conn.execute(
            "SELECT e.source FROM chat_evidence e JOIN chat_turns t ON t.id = e.turn_id"
            " WHERE t.conversation_id = %s ORDER BY t.turn",
            (first["conversation_id"],),
        ).fetchall()
    assert turns == [(1, "models.rug_chance", None), (2, "models.rug_chance", "300")]
    assert sources == [("rug_hazard_model",), ("rug_hazard_model",)]


def test_unsure_routing_asks_back_instead_of_guessing(client, auth):
    answer = _ask(client, auth, "banana bread recipe")
    assert answer["intent"] is None and answer["evidence"] == []
    assert answer["clarification"]["reason"] == "low_confidence"
    assert answer["answer"] == answer["clarification"]["question"]


def test_a_missing_value_is_asked_for_then_taken_from_the_reply(client, auth):
    first = _ask(client, auth, "can you prove this round was fair?")
    assert first["intent"] == "fairness.verify"
    assert first["clarification"]["reason"] == "missing_slot"
    assert first["clarification"]["slot"] == "game_id"
    reply = _ask(
        client, auth, "20250101-0123456789abcdef", conversation_id=first["conversation_id"]
    )
    assert reply["follow_up"] and reply["intent"] == "fairness.verify"
    assert reply["clarification"] is None
    assert "20250101-0123456789abcdef is not stored" in reply["answer"]


def test_an_unknown_conversation_is_404_and_bad_input_422(client, auth):
    r = client.post(
        "/v1/chat", json={"message": "hi", "conversation_id": str(uuid.uuid4())}, headers=auth
    )
    assert r.status_code == 404
    r = client.post("/v1/chat", json={"message": ""}, headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "message"
    r = client.post("/v1/chat", json={"message": "hi", "mode": "nope"}, headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "mode"


def _events(body: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in body.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_server_sent_events_with_the_steps(client, auth):
    r = client.post(
        "/v1/chat",
        json={"message": "sell now at 1.9x on tick 230?"},
        headers={**auth, "Accept": "text/event-stream"},
    )
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    events = _events(r.data)
    assert [e[0] for e in events] == ["intent", "tool_call", "partial", "final"]
    assert events[0][1]["intent"] == "coach.sell_now"
    assert events[1][1]["source"] == "coach_strategy" and events[1][1]["duration_ms"] >= 0
    final = events[-1][1]
    assert final["answer"] == events[2][1]["text"] and final["intent"] == "coach.sell_now"
    # n8n's default: plain JSON
    none = _ask(client, auth, "who won the last tournament?")
    assert none["intent"] == "tournaments.results"
    assert "tournament" in none["answer"] and none["evidence"][0]["source"] == "tournaments"
    meta = _ask(client, auth, "adapt my bot from classic to fast rug")
    assert meta["intent"] == "meta.adapt" and meta["slots"]["mode"] == "fast_rug"
    assert meta["evidence"][0]["source"] == "meta_adapt"  # no rounds stored here: said so
    assert (
        meta["answer"]
        == "I cannot answer that yet: no other mode has stored rounds to borrow from."
    )
    plain = client.post("/v1/chat", json={"message": "what can you do?"}, headers=auth)
    assert plain.mimetype == "application/json" and plain.json["intent"] == "system.help"


GAME = "20260105-00000000000000a1"


def _round_with_decisions(dsn: str, bot: str) -> None:
    """A classic round that rugged at tick 120, and the bot's logged decisions in it: a
    hold at tick 10, then a sidebet at tick 60 (its window ends before the rug: lost)."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO games (game_id, mode, started_at, ended_at, rug_tick, peak_multiplier,"
            " final_price) VALUES (%s, 'classic', now() - interval '2 min', now(), 120, 1.8,"
            " 0.02) ON CONFLICT DO NOTHING",
            (GAME,),
        )
        for tick, action in ((10, "hold"), (60, "sidebet")):
            conn.execute(
                "INSERT INTO hybrid_decisions (time, decision_id, bot_id, mode, game_id, tick,"
                " price, stake, input_hash, rl_action, action, source, critical, reason,"
                " confidence, expected_loss, latency_ms, model_version) VALUES (now(), %s, %s,"
                " 'classic', %s, %s, 1.2, 0.1, 'h', %s, %s, 'rl', false, 'rl action kept',"
                " 0.5, 0.0, 1.0, 'rules:classic')",
                (uuid.uuid4(), bot, GAME, tick, action, action),
            )


def test_why_did_my_bot_lose_joins_log_round_and_analyst(client, auth, pg_dsn):
    _round_with_decisions(pg_dsn, "why-bot-1")
    answer = _ask(client, auth, "why did my bot lose?", bot_id="why-bot-1")
    assert answer["intent"] == "analyst.why"
    sources = [e["source"] for e in answer["evidence"]]
    assert sources == ["decision_log", "round_data", "analyst_explain"]
    text = answer["answer"]
    assert f"Round {GAME} (classic) rugged at tick 120" in text
    assert "made 2 logged decision(s)" in text and "at tick 60" in text
    assert "so it lost 0.1 SOL" in text
    explain = answer["evidence"][2]["figures"]
    assert explain["action"] == "sidebet" and f"{explain['expected_value']:.4g}" in text
    # the same round by id, asked about the bet
    again = _ask(client, auth, f"why did bot why-bot-1 bet in round {GAME}?")
    assert again["intent"] == "analyst.why" and again["slots"]["game_id"] == GAME
    assert "so it lost 0.1 SOL" in again["answer"]
    # no bot named: asked for
    ask = _ask(client, auth, "why did my bot lose?")
    assert ask["clarification"]["slot"] == "bot_id"


def _profile_row(model_id: uuid.UUID) -> tuple:
    from psycopg.types.json import Jsonb

    figures = {
        "entry_tick": {"value": 41.0, "n": 30, "ci95": [35.0, 48.0]},
        "exit_multiple": {"value": 1.85, "n": 28, "ci95": [1.6, 2.1]},
        "sidebets_per_round": {"value": 0.4, "n": 37},
        "sidebet_first_tick": {"value": 120.0, "n": 15, "ci95": [90.0, 150.0]},
    }
    profile = {
        "rounds_seen": 50,
        "rounds_played": 37,
        "trades": 74,
        "sidebets": 15,
        "figures": figures,
        "pnl": {"total": 1.234, "per_round_ci95": [-0.01, 0.08], "recent_form": 0.02},
        "memberships": [{"name": "presale buyer, exits ~1.85x", "probability": 0.625}],
    }
    return ("did:privy:chatopp-whale", "ChatWhale", 7, model_id, "presale buyer, exits ~1.85x",
            0.625, 37, 74, 1.234, Jsonb(profile))  # fmt: skip


def test_a_player_is_described_from_the_stored_opponent_profile(client, auth, pg_dsn):
    from capabilities.opponents.profiles import store_profiles

    before = _ask(client, auth, "who is player ChatWhale?")
    assert before["intent"] == "opponents.profile"
    assert "POST /v1/opponents/fit" in before["answer"]
    model_id = uuid.uuid4()
    try:
        with psycopg.connect(pg_dsn) as conn:
            conn.execute(
                "INSERT INTO opponent_models (id, rounds, players, summary, model)"
                " VALUES (%s, 50, 1, '{}', '')",
                (model_id,),
            )
            store_profiles(conn, [_profile_row(model_id)])
        answer = _ask(client, auth, "who is player ChatWhale?")
        text = answer["answer"]
        assert answer["intent"] == "opponents.profile"
        quoted = ("presale buyer, exits ~1.85x", "62.5%", "37 rounds played", "74 trades",
                  "entry tick 41 (n=30", "exit multiple 1.85x (n=28, 95% CI 1.6-2.1x)",
                  "1.234 SOL", "-0.01 to 0.08 SOL", "15 placed",
                  "0.4 (n=37) per round")  # fmt: skip
        for figure in quoted:
            assert figure in text, (figure, text)
        sources = {e["source"]: e for e in answer["evidence"]}
        assert sources["opponent_profile"]["ok"]
        usual = _ask(client, auth, "what will player did:privy:chatopp-whale do next")
        assert usual["intent"] == "opponents.ask"
        assert "62.5%" in usual["answer"] and "POST /v1/opponents/predict" in usual["answer"]
        unknown = _ask(client, auth, "who is player nobody-at-all?")
        assert "No player 'nobody-at-all'" in unknown["answer"]
        assert "/v1/opponents/fit" not in unknown["answer"]
    finally:
        with psycopg.connect(pg_dsn) as conn:
            conn.execute("DELETE FROM opponent_profiles WHERE model_id = %s", (model_id,))
            conn.execute("DELETE FROM opponent_models WHERE id = %s", (model_id,))
