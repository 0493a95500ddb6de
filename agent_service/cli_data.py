"""`agent-service import`: load recordings into the configured database.

Progress goes to stderr, each bad line as `file:line: reason`, the summary to stdout.
Exit 0 when every line was good, 1 when some were skipped or a file could not be read.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from pathlib import Path

import click
import psycopg

from agent_service.config import SettingsError, load_settings

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
    help="Game mode the imported rounds are tagged with.",
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
def import_recordings(paths: tuple[Path, ...], mode: str, batch_size: int, workers: int) -> None:
    """Import legacy JSONL recordings ({seq, ts, event, data, source, direction}; .gz too).

    Importing the same file again adds nothing."""
    from agent_service.wiring import database_url
    from tools.errors import InvalidInput
    from tools.importer import ImportStats, ImportWorkers, UnreadableFile, import_file
    from tools.ingest import check_mode
    from tools.migrations import MigrationError, migrate

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    stats = ImportStats()
    unreadable = 0
    try:
        check_mode(mode)
        dsn = database_url(settings)
        with (
            psycopg.connect(dsn, connect_timeout=10) as conn,
            ImportWorkers(dsn, workers) if workers else nullcontext() as pool,
        ):
            migrate(conn)
            conn.autocommit = False
            for path in paths:
                last_report = time.monotonic()

                def bad_line(number: int, reason: str, path: Path = path) -> None:
                    click.echo(f"{path}:{number}: {reason}", err=True)

                def progress(totals: ImportStats, path: Path = path) -> None:
                    nonlocal last_report
                    now = time.monotonic()
                    if now - last_report >= _PROGRESS_EVERY_S:
                        last_report = now
                        rate = totals.lines / totals.seconds if totals.seconds else 0.0
                        click.echo(f"{path}: {totals.lines} lines, {rate:,.0f} lines/s", err=True)

                try:
                    import_file(
                        conn,
                        path,
                        mode=mode,
                        batch_size=batch_size,
                        stats=stats,
                        workers=pool,
                        on_bad_line=bad_line,
                        on_batch=progress,
                    )
                except UnreadableFile as exc:
                    unreadable += 1
                    click.echo(str(exc), err=True)
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
    )
    sys.exit(1 if stats.bad_lines or unreadable else 0)
