"""Slot parsers: values read by rules from the message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capabilities.chat.slots import Slots, extract, mask, recorded_when

NOW = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)


def test_ticks_prices_stakes_modes_and_actions():
    s = extract("sell now at 1.9x on tick 230?", NOW)
    assert (s.tick, s.price, s.action, s.stake) == (230, 1.9, "sell", None)
    s = extract("place a sidebet of 0.05 SOL at tick 100 in fast rug mode", NOW)
    assert (s.tick, s.stake, s.mode, s.action, s.price) == (100, 0.05, "fast_rug", "sidebet", None)
    s = extract("hold or sell at tick 300 price 1.7", NOW)
    assert (s.tick, s.price, s.action) == (300, 1.7, "hold")
    assert extract("in rising_hazard", NOW).mode == "rising_hazard"


def test_ids_bots_players():
    s = extract("why did bot why-bot-1 bet in round 20250101-0123456789abcdef?", NOW)
    assert (s.bot_id, s.game_id) == ("why-bot-1", "20250101-0123456789abcdef")
    assert extract("how did ppo-v3 do today?", NOW).bot_id == "ppo-v3"
    assert extract("who is player Alice?", NOW).player == "Alice"
    run = "3b9d6f2e-4c1a-4e8b-9a7d-2f6e1c0b5a93"
    assert extract(f"how is training run {run.upper()} going", NOW).run_id == run
    assert (
        mask(f"is round 20250101-0123456789abcdef fair, run {run}")
        == "is round round fair, run run"
    )


@pytest.mark.parametrize("word", ["game", "match", "round"])
def test_a_uuid_named_a_game_or_a_match_is_a_round_not_a_training_run(word):
    run = "3b9d6f2e-4c1a-4e8b-9a7d-2f6e1c0b5a93"
    s = extract(f"details for {word} {run.upper()}", NOW)
    assert (s.game_id, s.run_id) == (run, None)
    assert mask(f"what happened in {word} {run}") == f"what happened in {word} round"
    assert extract(f"{word} 5e9d01ab, was it fair", NOW).game_id == "5e9d01ab"
    assert extract(f"status of run {run}", NOW).run_id == run  # a run stays a run


def test_a_player_named_without_the_word_player():
    """A name-shaped word (CamelCase, underscore, letters and digits) in a question about
    a person, "who is X" or "X, the player" is the player; a bot, a mode or a plain word
    is not."""
    assert extract("who's CryptoKing, the player", NOW).player == "CryptoKing"
    assert extract("what's CryptoKing's trading style", NOW).player == "CryptoKing"
    assert extract("what will whale_hunter do next", NOW).player == "whale_hunter"
    assert extract("who is Bob", NOW).player == "Bob"
    for message in ("who is winning the tournament", "is ppo_v3 likely to sell",
                    "how do I connect n8n", "what transfers from classic to fast_rug"):  # fmt: skip
        assert extract(message, NOW).player is None, message
    assert mask("who's CryptoKing, the player") == "who's someone, the player"


def test_time_windows():
    s = extract("how many rounds did we record today?", NOW)
    assert (s.since_hours, s.window) == (6.5, "today")
    assert extract("rounds in the last 3 days", NOW).since_hours == 72.0
    assert extract("since yesterday", NOW).since_hours == 30.5
    assert extract("stats for the last 500 rounds", NOW).last_n == 500


def test_a_follow_up_keeps_what_it_does_not_say():
    earlier = extract("rug chance at tick 100 in classic", NOW)
    later = extract("and at tick 300?", NOW).merged_over(earlier)
    assert (later.tick, later.mode) == (300, "classic")
    assert Slots.from_json(later.as_json()) == later


def test_the_window_reads_after_recorded():
    now = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    said = {q: recorded_when(extract(q, now=now)) for q in (
        "how many rounds today", "rounds this week", "rounds in the last hour", "how many rounds",
    )}  # fmt: skip
    assert said == {
        "how many rounds today": " today",
        "rounds this week": " this week",
        "rounds in the last hour": " in the last hour",
        "how many rounds": "",
    }


def test_a_lowercase_name_only_where_a_person_must_stand():
    """A plain lowercase word is a player only in a person's place ("how's X doing",
    "profile of X", "X's pnl") and when it is no word of English or of the game: a typo
    of one ("trainig"), game slang ("sidebets") and an asset ("bitcoin") are not names,
    nor a noun after "player"."""
    assert extract("how's cryptoking doing", NOW).player == "cryptoking"
    assert extract("profile of moonboi please", NOW).player == "moonboi"
    assert extract("will moonboi buy in this round", NOW).player == "moonboi"
    assert extract("how much has cryptoqueen lost overall", NOW).player == "cryptoqueen"
    assert mask("rektmaster's pnl?") == "someone's pnl?"
    for plain in (
        "how is trainig doing",
        "will sidebets pay off",
        "who is winning the tourney",
        "what's bitcoin trading at",
        "what insights predict player actions",
    ):
        assert extract(plain, NOW).player is None, plain


@pytest.mark.parametrize(
    ("message", "flat"),
    [("buy now at 1.1x?", True),
     ("what should i do at tick 95, price 1.4x, i have no position", True),
     ("im flat at tick 150, worth getting in?", True),
     ("buy at 1.05x or wait for a dip?", True),
     ("bought at 1.2x, now 2x, what now?", None),
     ("should i buy more at 2x, im holding", None),
     ("sell now at 1.9x on tick 230?", None),
     ("my bag is at 3x, ape more?", None)],
)  # fmt: skip
def test_no_position_held(message, flat):
    """Said outright, or buying named with no word of a position, selling or holding: the
    price named is the round's, and the sell coach is not asked."""
    assert extract(message, NOW).flat is flat
