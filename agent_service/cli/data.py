"""`agent-service import`: load recordings into the configured database.

Progress goes to stderr, each bad line as `file:line: reason`, each round left alone
because it is stored under another mode once, at its first line; the summary to stdout.
Exit 0 when every line was good, 1 when some were skipped or a file could not be read.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click
import psycopg

from agent_service.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from game.fairness.verify import Verdict
    from tools.importer import ImportStats
    from tools.verification import VerificationSummary

_PROGRESS_EVERY_S = 2.0


@click.command("import")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option(
    "--mode",
    default="classic",
    show_default=True,
    help="Game mode the imported rounds are tagged with (`agent-service modes` lists them).",
)
@click.option(
    "--base",
    help="Declare --mode as a new mode with the rules of this one (stored in the database, "
    "so every process serves it; its models are fitted from its rounds).",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(
        ["legacy", "websocket", "replayer", "game_history", "parquet_games", "parquet_events"]
    ),
    help="Format of every PATH (default: detected per file; see docs/data.md).",
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="Lines per transaction.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 32),
    default=2,
    show_default=True,
    help="Processes that parse batches and write their raw events, ticks and trades in "
    "parallel (each with a database connection); 0 imports in this process alone.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Replay every stored round with a revealed seed not verified yet, at the end; a "
    "round that fails is kept, marked on `games` and announced (game.verification_failed).",
)
def import_recordings(
    paths: tuple[Path, ...],
    mode: str,
    base: str | None,
    file_format: str | None,
    batch_size: int,
    workers: int,
    verify: bool,
) -> None:
    """Import recordings: the service's JSONL, the bot's websocket captures, REPLAYER
    per-tick files, gameHistory JSON, Parquet (games, event store); .gz too.

    Importing the same file again adds nothing."""
    from agent_service.cli.modes import ensure_mode
    from agent_service.wiring import database_url
    from tools.errors import InvalidInput
    from tools.importer import ImportStats, ImportWorkers, UnreadableFile, import_files
    from tools.ingest import check_mode
    from tools.migrations import MigrationError, migrate

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    stats = ImportStats()
    unreadable = 0
    checked: VerificationSummary | None = None
    try:
        check_mode(mode)
        dsn = database_url(settings)
        with (
            psycopg.connect(dsn, connect_timeout=10) as conn,
            ImportWorkers(dsn, workers) if workers else nullcontext() as pool,
        ):
            migrate(conn)
            conn.autocommit = False
            declared = ensure_mode(conn, settings, mode, base)
            last_report = time.monotonic()

            def bad_line(path: Path, number: int, reason: str) -> None:
                click.echo(f"{path}:{number}: {reason}", err=True)

            def skipped_round(path: Path, number: int, game_id: str, stored: str) -> None:
                click.echo(
                    f"{path}:{number}: round {game_id} is stored as mode {stored}, not {mode}: "
                    "its lines are skipped",
                    err=True,
                )

            def progress(path: Path, totals: ImportStats) -> None:
                nonlocal last_report
                now = time.monotonic()
                if now - last_report >= _PROGRESS_EVERY_S:
                    last_report = now
                    rate = totals.lines / totals.seconds if totals.seconds else 0.0
                    click.echo(f"{path}: {totals.lines} lines, {rate:,.0f} lines/s", err=True)

            def unreadable_file(path: Path, exc: UnreadableFile) -> None:
                nonlocal unreadable
                unreadable += 1
                click.echo(str(exc), err=True)

            import_files(
                conn,
                paths,
                mode=mode,
                format=file_format,
                batch_size=batch_size,
                stats=stats,
                workers=pool,
                on_bad_line=bad_line,
                on_skipped=skipped_round,
                on_batch=progress,
                on_unreadable=unreadable_file,
            )
            checked = _verify_imported(conn, settings) if verify else None
    except (MigrationError, psycopg.Error, InvalidInput) as exc:
        raise click.ClickException(str(exc).strip()) from None
    except BrokenProcessPool as exc:
        raise click.ClickException(f"an import worker died: {exc} (try --workers 0)") from None
    rate = stats.lines / stats.seconds if stats.seconds else 0.0
    click.echo(
        f"imported {stats.lines} lines from {len(paths)} file(s) in {stats.seconds:.1f} s "
        f"({rate:,.0f} lines/s): {stats.games} games, {stats.ticks} ticks, "
        f"{stats.trades} trades, {stats.sidebets} sidebets, {stats.players} players, "
        f"{stats.events} events added; {stats.bad_lines} bad lines skipped"
        + _skipped_summary(stats)
        + declared
        + (
            ""
            if checked is None
            else f"; {checked.rounds} seeded rounds replayed in {checked.seconds:.1f} s: "
            f"{checked.verified} verified, {checked.failed} failed"
            + (f" ({checked.unannounced} not announced)" if checked.unannounced else "")
        )
    )
    if stats.skipped:
        stored = " or ".join(f"--mode {m}" for m in stats.skipped_modes())
        click.echo(
            "rounds stored under another mode were left alone: if that is their mode, import "
            f"them with {stored}; if they are simulated rounds of mode {mode} that share ids "
            "with another mode's (same --seed, simulated before ids named their mode), "
            "simulate them again or with another --seed",
            err=True,
        )
    sys.exit(1 if stats.bad_lines or stats.skipped or unreadable else 0)


def _skipped_summary(stats: ImportStats) -> str:
    """`; 300 rounds skipped: stored as mode classic (58903 lines)`, or nothing."""
    if not stats.skipped:
        return ""
    modes = stats.skipped_modes()
    where = ", ".join(f"mode {m}" + (f" ({n})" if len(modes) > 1 else "") for m, n in modes.items())
    return f"; {len(stats.skipped)} rounds skipped: stored as {where} ({stats.skipped_lines} lines)"


def _verify_imported(conn: psycopg.Connection, settings: Settings) -> VerificationSummary:
    """Verify the stored rounds with a seed and no verdict yet (what this import added, and
    any left over); each failure on stderr and announced on the events exchange."""
    from agent_service.logs import quiet_cli_logging
    from tools.publisher import EventPublisher
    from tools.verification import verify_stored_rounds

    def failed(verdict: Verdict) -> None:
        if verdict.failed:
            click.echo(f"{verdict.game_id}: verification failed: {verdict.reason}", err=True)

    quiet_cli_logging("tools.verification")
    url = settings.amqp_url
    publisher = (
        EventPublisher(url.get_secret_value(), settings.amqp_events_exchange) if url else None
    )
    try:
        return verify_stored_rounds(conn, only_pending=True, publisher=publisher, on_verdict=failed)
    finally:
        if publisher is not None:
            publisher.close()
