"""`agent-service verify`: replay rounds from their revealed seeds and say which match.

Per round: whether the seed's SHA-256 is the published hash, whether the replayed prices
and rug tick equal the recorded ones (the largest absolute difference), the rug tick and
the peak. Exit 0 when every round checked verifies, 1 when one does not, 2 when an input
cannot be read (each bad place reported as `file:line: reason`). A round with no revealed
seed is reported and skipped: it has not failed, it cannot be checked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from game.fairness.verify import Verdict


@click.command("verify")
@click.argument(
    "paths",
    nargs=-1,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option(
    "--from-db",
    is_flag=True,
    help="Verify the stored rounds that have a seed and store the verdicts on `games`.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="With --from-db: verify again rounds that have a verdict (default: only new ones).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per round on stdout.")
@click.option(
    "--format",
    "file_format",
    help="Format of the PATHs (default: detected per file; see docs/fairness.md).",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "python", "numba"]),
    default="auto",
    show_default=True,
    help="Replay engine: numba for many rounds, pure Python for a few (auto).",
)
def verify(
    paths: tuple[Path, ...],
    from_db: bool,
    everything: bool,
    as_json: bool,
    file_format: str | None,
    engine: str,
) -> None:
    """Verify rounds by provably-fair replay: recordings in any format `import` reads
    (gameHistory JSON, websocket captures, REPLAYER, Parquet, ...), or the database."""
    if not paths and not from_db:
        raise click.UsageError("give PATH... or --from-db")
    if everything and not from_db:
        raise click.UsageError("--all goes with --from-db")
    report = _Report(as_json)
    unreadable = False
    if paths:
        unreadable = _verify_files(paths, file_format, engine, report)
    if from_db:
        _verify_database(not everything, engine, report)
    report.close()
    sys.exit(2 if unreadable else 1 if report.failed else 0)


class _Report:
    """Prints verdicts as they come and counts them."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.verified = self.failed = self.unchecked = 0

    def add(self, verdict: Verdict) -> None:
        if verdict.failed:
            self.failed += 1
        elif verdict.ok:
            self.verified += 1
        else:
            self.unchecked += 1
        if self.as_json:
            click.echo(json.dumps(verdict.summary(), allow_nan=False))
            return
        status = "ok" if verdict.ok else "FAILED" if verdict.failed else "skipped"
        hash_text = {True: "hash ok", False: "HASH WRONG", None: "no hash"}[verdict.hash_ok]
        line = f"{verdict.game_id}  {status:<7} {hash_text:<10}"
        if verdict.rug_tick is not None:
            found = (" (found)" if verdict.ok else " (tried)") if verdict.version_detected else ""
            line += (
                f" {verdict.version}{found}  rug tick {verdict.rug_tick}  "
                f"peak {verdict.peak:.4f}x  max |diff| {_number(verdict.max_abs_diff)}"
            )
        if verdict.reason and not verdict.ok:
            line += f"  ({verdict.reason})"
        click.echo(line)

    def close(self) -> None:
        text = (
            f"{self.verified + self.failed + self.unchecked} rounds: {self.verified} verified, "
            f"{self.failed} failed, {self.unchecked} without a seed or anything to compare"
        )
        click.echo(text, err=self.as_json)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _verify_files(
    paths: tuple[Path, ...], file_format: str | None, engine: str, report: _Report
) -> bool:
    """Verify each file's rounds; True when some input could not be read."""
    from game.fairness.records import RoundRecord
    from game.fairness.verify import verify_records
    from tools.round_files import BadRecord, UnreadableRounds, read_rounds

    unreadable = False
    for path in paths:
        records: list[RoundRecord] = []
        try:
            for item in read_rounds(path, format=file_format):
                if isinstance(item, BadRecord):
                    unreadable = True
                    click.echo(f"{path}:{item.line}: {item.reason}", err=True)
                else:
                    records.append(item)
        except UnreadableRounds as exc:
            unreadable = True
            click.echo(str(exc), err=True)
        for verdict in verify_records(records, engine=engine):  # type: ignore[arg-type]
            report.add(verdict)
    return unreadable


def _verify_database(only_pending: bool, engine: str, report: _Report) -> None:
    import psycopg

    from agent_service.config import SettingsError, load_settings
    from agent_service.logs import quiet_cli_logging
    from agent_service.wiring import database_url
    from tools.migrations import MigrationError, migrate
    from tools.publisher import EventPublisher
    from tools.verification import verify_stored_rounds

    try:
        settings = load_settings()
    except SettingsError as exc:
        click.echo(f"agent-service verify: {exc}", err=True)
        sys.exit(2)
    quiet_cli_logging("tools.verification")  # the verdicts are printed here
    url = settings.amqp_url
    publisher = (
        EventPublisher(url.get_secret_value(), settings.amqp_events_exchange) if url else None
    )
    try:
        with psycopg.connect(database_url(settings), connect_timeout=10) as conn:
            migrate(conn)
            conn.autocommit = False
            verify_stored_rounds(
                conn,
                only_pending=only_pending,
                publisher=publisher,
                engine=engine,  # type: ignore[arg-type]
                on_verdict=report.add,
            )
    except (MigrationError, psycopg.Error) as exc:  # the stored rounds cannot be read
        click.echo(f"database: {str(exc).strip().splitlines()[0]}", err=True)
        sys.exit(2)
    finally:
        if publisher is not None:
            publisher.close()
