"""`agent-service tournament`: a tournament in one process, no service."""

from __future__ import annotations

import json

from tests.support.process import cli_env, run_cli


def test_a_tournament_on_the_command_line_decides_and_prints_its_standings(tmp_path):
    spec = {
        "mode": "rising_hazard",
        "max_rounds": 4000,
        "chunk_rounds": 1000,
        "sprt": {"h1": 0.1},
        "entrants": [
            {"kind": "oracle", "name": "oracle"},
            {"kind": "policy", "name": "ppo", "policy_id": "baseline:rising_hazard"},
            {"kind": "archetype", "name": "eager", "archetype": "aggressive"},
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    result = run_cli("tournament", str(path), env=cli_env())
    assert result.returncode == 0, result.stderr
    assert "decided after 2000 rounds" in result.stdout
    assert "ranking: oracle > " in result.stdout
    as_json = run_cli("tournament", str(path), "--json", env=cli_env())
    body = json.loads(as_json.stdout)
    assert body["status"] == "decided" and body["entrants"][0]["name"] == "oracle"
    path.write_text(json.dumps(spec | {"entrants": [{"kind": "wizard", "name": "w"}] * 2}))
    bad = run_cli("tournament", str(path), env=cli_env())
    assert bad.returncode != 0 and "wizard" in bad.stderr
