"""`agent-service simulate`: simulated rounds as a JSONL recording and/or a live RabbitMQ feed."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # game (numpy) is imported when the command runs, not with the CLI
    from game.recording import RecordingSummary
    from game.rules import GameRules


def _rules(mode: str) -> GameRules:
    from agent_service.config import SettingsError, load_settings
    from game.rules import ModeError, load_mode, load_rules_file, use_modes_dir

    try:
        if mode.endswith(".toml"):
            return load_rules_file(mode)
        modes_dir = load_settings().modes_dir  # a mode may be a file of AGENT_MODES_DIR
        if modes_dir is not None:
            use_modes_dir(modes_dir)
        return load_mode(mode)
    except (ModeError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


def _amqp_url(url: str | None) -> str:
    if url:
        return url
    from agent_service.config import SettingsError, load_settings

    try:
        secret = load_settings().amqp_url
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if secret is None:
        raise click.UsageError("--publish needs --amqp-url or AMQP_URL")
    return secret.get_secret_value()


class QueuePublisher:
    """Publishes each line to one queue with publisher confirms, paced by its timestamp."""

    def __init__(self, url: str, queue: str, *, declare: bool, speed: float) -> None:
        import pika

        from tools.amqp import connection_parameters

        self._pika, self._queue, self._speed = pika, queue, speed
        try:
            self._connection = pika.BlockingConnection(connection_parameters(url))
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise click.ClickException(f"cannot connect to RabbitMQ: {exc!r}") from None
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()
        if declare:
            self._channel.queue_declare(queue=queue, durable=True)
        self._properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        self._first: tuple[float, int] | None = None

    def publish(self, line: str, ts_ms: int) -> None:
        if self._speed > 0:
            now = time.monotonic()
            if self._first is None:
                self._first = (now, ts_ms)
            due = self._first[0] + (ts_ms - self._first[1]) / 1000 / self._speed
            if due > now:
                self._connection.sleep(due - now)  # keeps heartbeats going
        try:
            self._channel.basic_publish(
                exchange="",
                routing_key=self._queue,
                body=line.encode(),
                properties=self._properties,
                mandatory=True,
            )
        except self._pika.exceptions.UnroutableError:
            raise click.ClickException(
                f"queue {self._queue!r} does not exist (create it, or pass --declare)"
            ) from None

    def close(self) -> None:
        if self._connection.is_open:
            self._connection.close()


def _progress(total: int) -> Callable[[RecordingSummary], None]:
    last = [0.0]

    def report(summary: RecordingSummary) -> None:
        now = time.monotonic()
        if summary.games == total or now - last[0] >= 1.0:
            last[0] = now
            click.echo(
                f"simulate: {summary.games}/{total} games, {summary.events} events", err=True
            )

    return report


@click.command()
@click.option("--games", type=click.IntRange(min=1), required=True, help="Rounds to simulate.")
@click.option(
    "--mode",
    default="classic",
    show_default=True,
    help="Game mode (classic, rising_hazard, fast_rug, profit_payout, high_volatility, "
    "a file of AGENT_MODES_DIR...: an unknown name lists them) or a path to a mode .toml file.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the rounds.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file to write.")
@click.option(
    "--truth", type=click.Path(dir_okay=False, path_type=Path), help="Ground-truth JSON to write."
)
@click.option(
    "--players",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Simulated players (every persona first, then random ones).",
)
@click.option(
    "--leaderboard-size",
    type=click.IntRange(0, 10),
    default=10,
    show_default=True,
    help="Leaderboard entries per gameStateUpdate (0 = none, smaller files).",
)
@click.option(
    "--prng",
    type=click.Choice(["splitmix", "seedrandom"]),
    default="splitmix",
    show_default=True,
    help="splitmix: the vectorized bulk simulator (no seed reveals the chart); seedrandom: "
    "charts played by the provably-fair engine from random seeds, revealed at the rug, so "
    "the rounds verify like real ones (modes with the classic chart only).",
)
@click.option("--publish", is_flag=True, help="Also send every event to RabbitMQ.")
@click.option("--amqp-url", help="Broker URL for --publish (default: AMQP_URL).")
@click.option("--queue", default="websocket_events", show_default=True, help="Queue to publish to.")
@click.option("--declare", is_flag=True, help="Declare the queue (durable) before publishing.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Publishing pace: 1 = real time, 10 = ten times faster, 0 = as fast as possible.",
)
def simulate(
    games: int,
    mode: str,
    seed: int,
    out: Path | None,
    truth: Path | None,
    players: int,
    leaderboard_size: int,
    prng: str,
    publish: bool,
    amqp_url: str | None,
    queue: str,
    declare: bool,
    speed: float,
) -> None:
    """Simulate rounds with player personas as the rugs.fun protocol stream."""
    if out is None and not publish:
        raise click.UsageError("give --out FILE, --publish, or both")
    from game.recording import RecordingOptions, write_recording

    rules = _rules(mode)
    if prng == "seedrandom":
        from game.fairness.engine import engine_version

        try:
            engine_version(rules)
        except ValueError as exc:
            raise click.UsageError(f"--prng seedrandom: {exc}") from None
    report = _progress(games)
    with ExitStack() as stack:
        publisher = None
        if publish:
            publisher = QueuePublisher(_amqp_url(amqp_url), queue, declare=declare, speed=speed)
            stack.callback(publisher.close)
        try:
            summary = write_recording(
                rules,
                games,
                seed,
                out,
                truth=truth,
                n_players=players,
                options=RecordingOptions(leaderboard_size=leaderboard_size, prng=prng),  # type: ignore[arg-type]
                on_line=publisher.publish if publisher else None,
                on_round=report,
            )
        except OSError as exc:
            raise click.ClickException(f"{exc.filename}: cannot write: {exc.strerror}") from None
    where = ", ".join(filter(None, [str(out) if out else "", f"queue {queue}" if publish else ""]))
    click.echo(f"simulated {games} {rules.name} games, {summary.events} events -> {where}")
