"""The groundedness rule: which numbers count and when they match."""

from __future__ import annotations

import pytest

from capabilities.engines.runtime.grounding import evidence_numbers, groundedness, quoted_numbers


def test_small_integers_names_and_dates_are_not_quoted_numbers():
    text = "Step 3: the p95 of Qwen2 on 2026-11-23 for game 20261123-ab12 was 7 ticks."
    assert quoted_numbers(text) == []


def test_fractions_percentages_multipliers_and_large_integers_count():
    quoted = quoted_numbers("EV -0.05, 18.2% win, 2.5x peak, 1,234 games, 12 rugs, 5%.")
    assert [(q.text, q.value, q.decimals, q.percent) for q in quoted] == [
        ("-0.05", 0.05, 2, False),
        ("18.2%", 18.2, 1, True),
        ("2.5x", 2.5, 1, False),
        ("1,234", 1234.0, 0, False),
        ("12", 12.0, 0, False),
        ("5%", 5.0, 0, True),
    ]


@pytest.mark.parametrize(
    ("prose", "evidence"),
    [
        ("18.2%", 0.18237),  # a share quoted as a percentage, rounded as quoted
        ("0.182", "18.2%"),  # a percentage quoted as a share
        ("18", 18.4),  # rounded to the precision quoted
        ("-0.05", -0.0501),  # signs ignored
        ("1,234", 1234),
    ],
)
def test_matching_normalizes_and_rounds(prose, evidence):
    assert groundedness(f"value {prose}.", {"tool": evidence}).score == 1.0


@pytest.mark.parametrize(("prose", "evidence"), [("18.3%", 0.18237), ("0.19", 0.18), ("19", 18.4)])
def test_numbers_off_at_the_quoted_precision_do_not_match(prose, evidence):
    assert groundedness(f"value {prose}.", {"tool": evidence}).score == 0.0


def test_score_is_the_share_found_and_names_sources():
    result = groundedness(
        "Mean 200.0, rate 20%, edge 13.3%.",
        {"mean": {"mean_rug_tick": 200.0}, "rate": [{"rug_rate": 0.2}]},
    )
    assert result.score == pytest.approx(2 / 3)
    assert result.sources == (("200.0", "mean"), ("20%", "rate"))
    assert result.unmatched == ("13.3%",)


def test_prose_without_numbers_is_grounded_and_booleans_are_not_numbers():
    assert groundedness("No feature predicts the rug.", {}).score == 1.0
    assert evidence_numbers({"ok": True, "n": [1, 2.5], "s": "p=0.03"}) == [0.03, 2.5, 1.0]
