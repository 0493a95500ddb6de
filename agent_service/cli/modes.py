"""`agent-service modes`: every game mode with where it comes from, and the mode checks
of `import` (a new mode is declared with `--base`, docs/modes.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import psycopg

    from agent_service.config import Settings


@click.command("modes")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mode and line.")
def modes(as_json: bool) -> None:
    """List the game modes: packaged, from AGENT_MODES_DIR (dir) and declared by import
    (db). A bad mode file stops the command naming the file and key."""
    import psycopg

    from agent_service.config import SettingsError, load_settings
    from agent_service.wiring import database_url
    from capabilities.modes.service import list_modes
    from game.rules import ModeError, use_modes_dir
    from tools.migrations import MigrationError, migrate
    from tools.modes_store import stored_modes

    try:
        settings = load_settings()
        if settings.modes_dir is not None:
            use_modes_dir(settings.modes_dir)
        with psycopg.connect(database_url(settings), connect_timeout=10) as conn:
            migrate(conn)
            stored = stored_modes(conn)
    except (SettingsError, ModeError, MigrationError) as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.OperationalError as exc:
        click.echo(f"declared modes not listed: {str(exc).strip()}", err=True)
        stored = []
    listed = list_modes(stored).modes
    if as_json:
        for info in listed:
            click.echo(info.model_dump_json())
        return
    click.echo(f"{'mode':<20} {'source':<8} {'base':<16} description")
    for m in listed:
        click.echo(f"{m.name:<20} {m.source:<8} {m.base or '-':<16} {m.description}")


def ensure_mode(conn: psycopg.Connection, settings: Settings, mode: str, base: str | None) -> str:
    """Make sure rounds are stored under a mode every endpoint serves (import, consume):
    with `base`, declare `mode` in the database with the base's rules (kept when it
    exists with that base); without, `mode` must already be a mode. Returns a line for
    the import's summary."""
    from functools import partial

    from game.rules import (
        ModeError,
        clear_mode_lookup,
        is_known_mode,
        set_mode_lookup,
        use_modes_dir,
    )
    from tools.modes_store import declare_stored_mode, find_mode

    lookup = partial(find_mode, conn)  # the base may itself be a stored mode
    set_mode_lookup(lookup)
    try:
        if settings.modes_dir is not None:
            use_modes_dir(settings.modes_dir)
        if base is None:
            if not is_known_mode(mode):
                raise click.ClickException(
                    f"unknown mode {mode!r}: declare it with `agent-service import PATH... "
                    f"--mode {mode} --base MODE` (a new mode with that mode's rules) or a "
                    "TOML file in AGENT_MODES_DIR; `agent-service modes` lists the modes"
                )
            return ""
        entry, created = declare_stored_mode(conn, mode, base)
    except ModeError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        clear_mode_lookup(lookup)
        conn.commit()
    verb = "declared" if created else "already declared"
    return f"; mode {entry.name} {verb} with the rules of {base}"
