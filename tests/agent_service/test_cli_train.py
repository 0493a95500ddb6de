"""`agent-service train`: a tiny run prints its curve, writes its files, stores its run."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from click.testing import CliRunner

from agent_service.cli import main
from game.policy_net import PolicyNet

pytest.importorskip("stable_baselines3")

TINY = ["--mode", "fast_rug", "--steps", "1024", "--n-envs", "8", "--batch-size", "256"]


def test_train_prints_the_curve_writes_the_model_and_stores_the_run(tmp_path, fresh_pg_dsn):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"ppo": {"n_steps": 512, "n_epochs": 1},
                                "evaluation": {"every_steps": 512, "rounds": 100}}))  # fmt: skip
    out = tmp_path / "model.zip"
    env = {"DATABASE_URL": fresh_pg_dsn, "AGENT_DATA_DIR": str(tmp_path / "data")}
    args = ["train", "--spec", str(spec), *TINY, "--out", str(out), "--store", "--name", "cli"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("step")]
    assert len(lines) == 3 and "regret" in lines[0]  # steps 0, 512, 1024
    assert "steps/s" in result.stdout
    net = PolicyNet.from_bytes(out.with_suffix(".npz").read_bytes())
    assert net.obs_dim == 15 and out.stat().st_size > 0
    facts = json.loads(out.with_suffix(".json").read_text())
    assert facts["steps"] == 1024 and facts["mode"] == "fast_rug" and "regret" in facts["final"]
    assert facts["engine"] == "numpy"  # the default

    run_id = result.stdout.split("run ")[-1].split(",")[0]
    uuid.UUID(run_id)
    with psycopg.connect(fresh_pg_dsn) as conn:
        state, source, policy = conn.execute(
            "SELECT state, source, policy_id FROM training_runs WHERE id = %s", (run_id,)
        ).fetchone()
        points = conn.execute(
            "SELECT count(*) FROM training_curve WHERE run_id = %s", (run_id,)
        ).fetchone()[0]
        name = conn.execute("SELECT name FROM policies WHERE id = %s", (policy,)).fetchone()[0]
    assert (state, source, points, name) == ("succeeded", "cli", 3, "cli")


def test_a_bad_spec_file_is_named_with_its_line(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text('{\n  "steps": 10,\n  "ppo": {"batch_size": 64,}\n}\n')
    result = CliRunner().invoke(main, ["train", "--spec", str(spec)])
    assert result.exit_code == 1 and f"{spec}:3: invalid JSON" in result.output
    spec.write_text('{"steps": 10}')
    result = CliRunner().invoke(main, ["train", "--spec", str(spec)])
    assert result.exit_code == 1 and f"{spec}: steps:" in result.output
