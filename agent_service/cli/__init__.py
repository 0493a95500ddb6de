"""The `agent-service` command line: serve, check, db migrate, openapi, and the data
and game commands added by their packages."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from agent_service import __version__
from agent_service.config import Settings, SettingsError, load_settings
from tools.redact import mask_url

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


class _MaskedErrors(click.Group):
    """Every command's error message with URL credentials masked (a backend's error often
    quotes the URL it was given)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = mask_url(exc.message)
            raise


@click.group(cls=_MaskedErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agent-service")
def main() -> None:
    """VECTRA Agent Service: strategic intelligence for the VECTRA-PLAYER bot."""


@main.command()
@click.option("--host", help="Address to bind (AGENT_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (AGENT_PORT, default 8000).")
@click.option("--workers", type=int, help="Gunicorn worker processes (AGENT_WORKERS, default 2).")
@click.option("--threads", type=int, help="Threads per worker (AGENT_THREADS, default 8).")
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Run the HTTP service under gunicorn (embedded backends when none are configured)."""
    settings = _settings(host=host, port=port, workers=workers, threads=threads)
    _share_metrics_between_workers(settings.data_dir / "prometheus")

    from agent_service import serve as serving
    from agent_service.startup import prepare
    from tools.errors import BackendUnavailable

    _describe_modes(settings)
    try:
        prepared = prepare(settings)
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if prepared.api_key_created:
        click.echo(f"agent-service: generated an API key in {settings.api_key_file.resolve()}")
    elif not settings.api_keys:
        click.echo(f"agent-service: API key read from {settings.api_key_file.resolve()}")
    n_workers = serving.effective_workers(settings, settings.workers)
    if n_workers != settings.workers:
        click.echo(
            "agent-service: qdrant local mode locks its folder to one process: "
            f"running 1 worker with {settings.threads} threads "
            f"instead of {settings.workers} workers (set QDRANT_URL to scale out)"
        )
    serving.run(
        prepared,
        host=settings.host,
        port=settings.port,
        workers=n_workers,
        threads=settings.threads,
    )


def _share_metrics_between_workers(directory: Path) -> None:
    """Give the gunicorn workers one metrics folder. prometheus_client chooses where
    values live when it is first imported, which happens while this command loads, so
    the command runs itself again with PROMETHEUS_MULTIPROC_DIR set from the start
    (same process id: exec, as systemd expects)."""
    wanted = str(directory.resolve())
    if os.environ.get(METRICS_DIR_ENV) == wanted:
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    argv = [sys.executable, "-m", "agent_service", *sys.argv[1:]]
    os.execve(sys.executable, argv, {**os.environ, METRICS_DIR_ENV: wanted})  # noqa: S606 - our own command


def _describe_modes(settings: Settings) -> None:
    pg = (
        "external (DATABASE_URL)"
        if settings.postgres_mode == "external"
        else f"embedded (pgserver in {settings.postgres_dir})"
    )
    qd = (
        f"external ({mask_url(settings.qdrant_url or '')})"
        if settings.qdrant_mode == "external"
        else f"embedded (local mode in {settings.qdrant_path})"
    )
    mq = (
        "external (AMQP_URL): jobs on workers, event consumer available"
        if settings.amqp_mode == "external"
        else "disabled (no AMQP_URL): jobs run in-process, event consumer disabled"
    )
    click.echo(f"agent-service: postgres {pg}")
    click.echo(f"agent-service: qdrant {qd}")
    click.echo(f"agent-service: rabbitmq {mq}")
    click.echo(f"agent-service: llm {settings.effective_llm_backend}")


@main.command()
def check() -> None:
    """Run every readiness check once and print it; exit 1 if a required one is down."""
    from agent_service.cli.check import qdrant_through_service
    from agent_service.readiness import build_readiness
    from agent_service.wiring import Backends, prepare
    from tools.errors import BackendUnavailable

    settings = _settings()
    try:
        prepared = prepare(settings, run_migrations=False)
    except BackendUnavailable as exc:
        click.echo(f"postgres   down  {mask_url(exc.detail)}")
        sys.exit(1)
    backends = Backends(prepared)
    readiness = build_readiness(backends)
    try:
        components = readiness.components()
        components["qdrant"] = qdrant_through_service(settings, components["qdrant"])
        for name, c in components.items():
            latency = f"{c.latency_ms:.1f} ms" if c.latency_ms is not None else "-"
            required = "required" if c.required else "optional"
            click.echo(
                f"{name:<9} {c.status:<8} {c.mode:<9} {required:<8} {latency:>10}  "
                f"{c.detail or ''}".rstrip()
            )
        ok = readiness.is_ready(components)
    finally:
        readiness.close()
        backends.close()
    sys.exit(0 if ok else 1)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (also done at start-up)."""
    import psycopg

    from agent_service.wiring import database_url
    from tools.migrations import MigrationError, migrate

    settings = _settings()
    try:
        with psycopg.connect(database_url(settings), connect_timeout=10) as conn:
            applied = migrate(conn)
    except (MigrationError, psycopg.OperationalError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\n".join(f"applied {name}" for name in applied) or "schema is up to date")


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("openapi.yaml"),
    show_default=True,
    help="Where to write the document ('-' for stdout).",
)
def openapi(out: Path) -> None:
    """Regenerate the OpenAPI document from the application's routes and models."""
    from agent_service.openapi import render_spec

    text = render_spec(_spec_app())
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"wrote {out}")


def _spec_app():  # type: ignore[no-untyped-def]
    """An app for reading routes only: no backend is started or contacted."""
    from agent_service.app import create_app
    from agent_service.wiring import Prepared

    settings = load_settings({}, api_keys="spec")
    return create_app(prepared=Prepared(settings, "postgresql:///unused", False))


# subcommands that live in their own modules
from agent_service.cli.consume import consume  # noqa: E402
from agent_service.cli.data import import_recordings  # noqa: E402
from agent_service.cli.game import simulate  # noqa: E402
from agent_service.cli.knowledge import knowledge  # noqa: E402
from agent_service.cli.modes import modes  # noqa: E402
from agent_service.cli.rewards import rewards  # noqa: E402
from agent_service.cli.tournament import tournament  # noqa: E402
from agent_service.cli.train import train_command  # noqa: E402
from agent_service.cli.verify import verify  # noqa: E402
from agent_service.cli.worker import worker  # noqa: E402

for _command in (
    consume,
    worker,
    simulate,
    import_recordings,
    knowledge,
    verify,
    train_command,
    modes,
    rewards,
    tournament,
):
    main.add_command(_command)

if __name__ == "__main__":
    main()
