"""The curriculum's ranking: learning potential per env step, pooled reports, a capped share."""

from __future__ import annotations

import numpy as np

from capabilities.curriculum.models import CurriculumRequest, ScenarioResult
from capabilities.curriculum.service import capped, next_scenarios, pool
from game.scenarios import Scenario

SHORT = Scenario(mode="rising_hazard", start_tick=200)  # ~68 env steps an episode
LONG = Scenario(mode="rising_hazard", rug_min=201)  # the same decisions, ~268 steps


def report(scenario: Scenario, step: int, ticks: list[int | None]) -> dict:
    return {"scenario": scenario.model_dump(), "step": step, "bet_ticks": ticks}


def answer(results: list[dict], **fields):
    body = {"mode": "rising_hazard", "scenarios": [SHORT.model_dump(), LONG.model_dump()]}
    return next_scenarios(CurriculumRequest.model_validate(body | {"results": results} | fields))


def test_the_same_regret_with_shorter_episodes_ranks_first_per_env_step():
    # both bet at tick 200 in every episode: the same regret per round (their value
    # given a round alive at 200 is the same), but SHORT's episodes cost a quarter
    results = [report(s, 10_000, [200] * 40) for s in (SHORT, LONG)]
    per_step = answer(results, max_share=1.0)  # two scenarios: a cap of 0.25 would be 0.5
    assert [s.id for s in per_step.scenarios] == [SHORT.id, LONG.id]
    assert per_step.scenarios[0].probability > per_step.scenarios[1].probability
    assert "68 env steps" in per_step.scenarios[0].reason
    per_round = answer(results, per_step=False, max_share=1.0)
    assert per_round.scenarios[0].probability == per_round.scenarios[1].probability


def test_small_reports_are_pooled_before_they_count():
    ticks = [[200, 241, None], [241, 241, 200], [230, 241, 241], [241, 241, 241]]
    reports = [
        ScenarioResult.model_validate(report(SHORT, 1000 * i, t)) for i, t in enumerate(ticks)
    ]
    assert [len(r.bet_ticks) for r in pool(reports, 6)] == [6, 6]
    merged = pool(reports, 32)
    assert len(merged) == 1 and merged[0].bet_ticks == [t for w in ticks for t in w]
    assert merged[0].step == 1500  # its episodes' mean training step
    one = answer([r.model_dump() for r in reports])  # 12 episodes < 32: one measurement
    assert one.scenarios[0].trend_per_10k_steps is None
    assert (
        answer([r.model_dump() for r in reports], min_episodes=3).scenarios[0].trend_per_10k_steps
    )


def test_no_scenario_gets_more_than_its_cap():
    p = capped(np.array([0.7, 0.2, 0.05, 0.05]), 0.25)
    assert abs(p.sum() - 1) < 1e-12 and p.max() <= 0.25 + 1e-12
    assert p[1] == 0.25 and p[2] == p[3]  # the excess shared in proportion
    assert np.allclose(capped(np.array([0.9, 0.1]), 0.25), [0.5, 0.5])  # never below 1/n
