"""LLM proposals screened by our parser; the summary written to `agent_insights`."""

from __future__ import annotations

from capabilities.discovery.insights import store_insights, summary_markdown
from capabilities.discovery.models import ProposalNarrative
from capabilities.discovery.panel import build_panel
from capabilities.discovery.proposals import data_figures, screen
from capabilities.discovery.service import discover
from game.rules import load_mode
from game.simulator import simulate_rounds
from tools.errors import BackendUnavailable


def _panel(n: int = 300):
    rounds = simulate_rounds(load_mode("rising_hazard"), n, seed=7)
    return build_panel(rounds.prices, rounds.rug_tick)


def test_screen_parses_and_keeps_names_free():
    panel = _panel()
    accepted, rejected = screen(
        {"late": "max(tick - 150, 0)", "tick": "price", "bad": "price ** 2", "x": "volume"},
        panel.names,
        taken={"tick"},
    )
    assert accepted == {"late": "max(tick - 150, 0)"}
    assert set(rejected) == {"tick", "bad", "x"} and "already used" in rejected["tick"]
    assert "unexpected" in rejected["bad"] and "volume" in rejected["x"]


def test_narrative_bounds_and_figures():
    ok = ProposalNarrative.model_validate({"summary": "s", "candidates": {"a_1": "tick"}})
    assert ok.candidates == {"a_1": "tick"}
    for bad in ({"1a": "tick"}, {"a" * 41: "tick"}, {"a": "x" * 201},
                {f"c{i}": "tick" for i in range(11)}):  # fmt: skip
        try:
            ProposalNarrative.model_validate({"summary": "s", "candidates": bad})
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
    figures = data_figures(_panel())
    assert figures["rounds"] == 300 and len(figures["price_p10_p50_p90"]) == 3


class _Down:
    def ingest_text(self, *args, **kwargs):
        raise BackendUnavailable("qdrant", "connection refused")


def test_storing_never_fails_the_job():
    reports, _ = discover(_panel(1000), ["rug_within"])
    text = summary_markdown("rising_hazard", 1000, 0.05, 40, reports)
    assert text.startswith("# Feature discovery: rising_hazard") and "| tick |" in text
    missing = store_insights(None, "rising_hazard", 1000, 0.05, 40, reports)
    assert missing["insights_stored"] is False and "QDRANT_URL" in missing["insights_error"]
    down = store_insights(_Down(), "rising_hazard", 1000, 0.05, 40, reports)  # type: ignore[arg-type]
    assert down["insights_stored"] is False and "connection refused" in down["insights_error"]
