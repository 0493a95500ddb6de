"""`agent-service rewards review`: the exact review on the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from agent_service.cli import main


def test_the_bots_reward_in_classic_costs_its_bets_at_200():
    done = CliRunner().invoke(main, ["rewards", "review", "--mode", "classic"])
    assert done.exit_code == 0, done.output
    assert "bets at tick 200" in done.output and "costs 0.0336 SOL per round" in done.output


def test_a_bad_spec_names_the_field(tmp_path):
    spec = tmp_path / "reward.json"
    spec.write_text(json.dumps({"terminal": {"skip": [{"min_ticks": 9, "max_ticks": 2,
                                                       "reward": -1}]}}))  # fmt: skip
    done = CliRunner().invoke(main, ["rewards", "review", "--spec", str(spec)])
    assert done.exit_code != 0 and "reward.terminal.skip.0" in done.output
