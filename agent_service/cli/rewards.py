"""`agent-service rewards review`: the exact review of a sidebet reward, in this process.

The same computation as `POST /v1/rewards/review` (without the language model): what
the reward's optimum does, what it costs per round against the true optimum, each
term's verdict, and the proposed reward. `--spec` reads a reward spec (JSON); without
it the bot's own reward is reviewed. `--json` prints the whole answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("rewards")
def rewards() -> None:
    """Reward shaping (capability 7)."""


@rewards.command("review")
@click.option("--mode", default="classic", show_default=True, help="game mode")
@click.option("--gamma", type=float, default=0.99, show_default=True, help="learner's discount")
@click.option("--spec", "spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a reward spec (JSON); default: the bot's own reward")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print the whole answer as JSON")
def review_command(mode: str, gamma: float, spec_file: Path | None, as_json: bool) -> None:
    """Review a sidebet reward against the game's true economics."""
    from pydantic import ValidationError

    from capabilities.rewards.models import ReviewRequest, RewardReview
    from capabilities.rewards.service import review

    body: dict = {"mode": mode, "gamma": gamma}
    if spec_file is not None:
        try:
            body["reward"] = json.loads(spec_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{spec_file}: {exc}") from None
    try:
        request = ReviewRequest.model_validate(body)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise click.ClickException("\n".join(lines)) from None
    answer = RewardReview.model_validate(review(request))
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
        return
    for finding in answer.findings:
        click.echo(f"- {finding}")
    click.echo("terms:")
    for t in answer.terms:
        click.echo(f"  {t.term:24s} pays {t.pays!s:>22s}  money {t.money!s:>28s}  "
                   f"{t.pays_for:16s} EV lost without it {t.ev_lost_without:.4f}")  # fmt: skip
    p = answer.proposal
    click.echo(f"proposal (train at gamma {p.gamma:g}): {p.reward.model_dump_json()}")
    click.echo(f"  its optimum {p.optimum.description}; EV lost {p.ev_lost_per_round:.4f}")
