"""`agent-service train`: one PPO run on the simulator, in this process.

Prints the learning curve as it is measured (one line per evaluation on the held-out
rounds), then the run's figures. `--out` writes the SB3 zip, its numpy network (`.npz`)
and the facts (`.json`); `--store` records the run and its policy in the service's
database, where `GET /v1/training/runs/{id}` and `load_policy` find them.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import click


def _spec(spec_file: Path | None, overrides: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from capabilities.training.models import TrainingSpec

    data: dict[str, Any] = {}
    label = str(spec_file) if spec_file else "command line"
    if spec_file is not None:
        try:
            data = json.loads(spec_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise click.ClickException(f"{spec_file}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise click.ClickException(
                f"{spec_file}:{exc.lineno}: invalid JSON: {exc.msg}"
            ) from None
        if not isinstance(data, dict):
            raise click.ClickException(f"{spec_file}:1: a training spec is a JSON object")
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "batch_size":
            data.setdefault("ppo", {})["batch_size"] = value
        else:
            data[key] = value
    try:
        return TrainingSpec.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{label}: {'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise click.ClickException("\n".join(lines)) from None


def _line(point: Any) -> str:
    e = point.evaluation
    text = f"step {point.step:>9}  {point.seconds:8.1f} s  PnL/round {e['pnl']['mean']:+.4f}"
    if e.get("expected_pnl"):
        text += f"  expected {e['expected_pnl']['mean']:+.4f}"
    if e.get("regret"):
        r = e["regret"]
        text += f"  regret {r['mean']:.4f} [{r['low']:.4f}, {r['high']:.4f}]"
    return text + f"  bets/round {e['bets_per_round']['mean']:.3f}"


@click.command("train")
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A training spec (JSON, as POST /v1/training/runs takes); options override it.",
)
@click.option("--env", type=click.Choice(["sidebet_v1", "trading"]), help="Default sidebet_v1.")
@click.option("--mode", help="Game mode (default classic).")
@click.option("--steps", type=int, help="Budget in env steps (default 100000).")
@click.option("--seed", type=int, help="Training seed (default 0).")
@click.option("--n-envs", "n_envs", type=int, help="Envs stepped together (default 16).")
@click.option("--batch-size", "batch_size", type=int, help="PPO minibatch (default 64, the bot's).")
@click.option(
    "--engine",
    type=click.Choice(["numpy", "sb3"]),
    help="numpy (default): the lab's PPO without torch; sb3: stable-baselines3.",
)
@click.option("--name", help="A name for the run and its policy.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the model here (.zip), with its .npz network and .json facts.",
)
@click.option("--store", is_flag=True, help="Record the run and its policy in the database.")
def train_command(
    spec_file: Path | None,
    env: str | None,
    mode: str | None,
    steps: int | None,
    seed: int | None,
    n_envs: int | None,
    batch_size: int | None,
    engine: str | None,
    name: str | None,
    out: Path | None,
    store: bool,
) -> None:
    """Train PPO on the simulator (vectorized envs) and print its learning curve."""
    spec = _spec(
        spec_file,
        {"env": env, "mode": mode, "steps": steps, "seed": seed, "n_envs": n_envs,
         "batch_size": batch_size, "engine": engine, "name": name},
    )  # fmt: skip
    from capabilities.training.service import train

    database, run_id = (_open_database(), uuid.uuid4()) if store else (None, None)
    warm = None
    if spec.warm_start:
        from tools.errors import ServiceError
        from tools.policy_store import policy_store

        try:
            warm = policy_store(database).model_zip(spec.warm_start)
        except ServiceError as exc:
            raise click.ClickException(f"warm_start: {exc.detail}") from None
    on_point = _echo_point
    if database is not None:
        from capabilities.training import runs

        runs.create_run(database, run_id, spec, "cli")
        runs.start_run(database, run_id)

        def on_point(point: Any) -> None:
            _echo_point(point)
            runs.add_point(database, run_id, point)
            runs.set_progress(database, run_id, point.step / spec.steps, _line(point))

    click.echo(f"training {spec.steps} steps of PPO ({spec.engine}) on {spec.env} "
               f"({spec.mode}), {spec.n_envs} envs, batch {spec.ppo.batch_size}",
               err=True)  # fmt: skip
    try:
        result = train(spec, on_point=on_point, warm_start=warm)
    except Exception as exc:
        if database is not None:
            runs.fail_run(database, run_id, f"{type(exc).__name__}: {exc}")
        raise
    facts = result.facts
    rate, load = facts["steps_per_second"], facts["load_average"]
    click.echo(
        f"trained {result.steps} steps in {result.seconds:.1f} s ({rate:.0f} steps/s, load {load})"
    )
    if out is not None:
        _write(out, result)
    if database is not None:
        summary = runs.finish_run(database, run_id, spec, result)
        click.echo(f"run {run_id}, policy {summary['policy_id']}")
        database.close()


def _echo_point(point: Any) -> None:
    click.echo(_line(point))
    sys.stdout.flush()


def _open_database() -> Any:
    import psycopg

    from agent_service.config import SettingsError, load_settings
    from agent_service.wiring import database_url
    from tools.migrations import MigrationError, migrate
    from tools.postgres import Database

    try:
        url = database_url(load_settings())
        with psycopg.connect(url, connect_timeout=10) as conn:
            migrate(conn)
    except (SettingsError, MigrationError, psycopg.OperationalError) as exc:
        raise click.ClickException(str(exc)) from None
    return Database(url, max_size=2, application_name="agent-service-train")


def _write(out: Path, result: Any) -> None:
    out = out.with_suffix(".zip")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.model_zip())
    out.with_suffix(".npz").write_bytes(result.network.to_bytes())
    facts = result.facts | {"final": result.final.to_json()}
    out.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    click.echo(f"wrote {out} (+ .npz, .json)")
