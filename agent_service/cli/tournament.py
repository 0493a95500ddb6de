"""`agent-service tournament SPEC.json`: a tournament played in this process (no service,
no workers), its standings printed; the spec is the body of `POST /v1/tournaments`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("tournament")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The result as JSON on stdout.")
def tournament(spec_file: Path, as_json: bool) -> None:
    """Play the entrants of SPEC_FILE on common rounds until the sequential test has
    decided every pair or the budget is spent (built-in baselines need no database)."""
    from pydantic import ValidationError

    from capabilities.tournaments.entrants import store_loader
    from capabilities.tournaments.models import TournamentSpec
    from capabilities.tournaments.service import play_here
    from tools.errors import ServiceError

    try:
        spec = TournamentSpec.model_validate_json(spec_file.read_bytes())
    except ValidationError as exc:
        raise click.ClickException(f"{spec_file}: {exc}") from None
    try:
        result = play_here(
            spec,
            store_loader(None),
            lambda n: click.echo(f"{n} rounds", err=True),
        )
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    if as_json:
        json.dump(result.model_dump(mode="json"), sys.stdout)
        click.echo()
        return
    by = f" (every pair by round {result.decided_at})" if result.decided_at else ""
    click.echo(f"{spec.mode}: {result.status.replace('_', ' ')} after {result.rounds} rounds{by}")
    for e in result.entrants:
        low, high = e.rank_range
        rank = str(low) if low == high else f"{low}-{high}"
        p, bets = e.pnl, e.bets_per_round.mean
        click.echo(f"{rank:>6} {e.name:<18} {p.mean:+.4f} SOL/round "
                   f"[{p.low:+.4f}, {p.high:+.4f}]  bets/round {bets:.3f}")  # fmt: skip
    click.echo(f"ranking: {' > '.join('='.join(g) for g in result.ranking)}")
