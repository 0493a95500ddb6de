"""The consumer against the real RabbitMQ and PostgreSQL, with the real `ingest_batch`:
exact rows despite duplicates, poison to the dead-letter queue with its reason, and
recovery from a broker or database outage (cut with a TCP proxy) without loss or
duplicates."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support.amqp import Topology
from tests.support.protocol_stream import (
    expected_counts,
    round_messages,
    stored_counts,
    stored_rug_ticks,
    stream,
)
from tests.support.row_checksums import row_checksums
from tests.support.tcp_proxy import TcpProxy
from tools.consumer import (
    DEATH_REASON_HEADER,
    Consumer,
    ConsumerConfig,
    ConsumerConfigError,
    backoff_delay,
)
from tools.ingest import ingest_batch
from tools.migrations import migrate

MALFORMED = [
    b"not json at all",
    b'{"event": "gameStateUpdate", "data": {"tickCount": 3',
    b'"a json string"',
    {"data": {"gameId": "20251107-aaaaaaaaaaaaaaaa"}},
    {"event": "gameStateUpdate", "data": {"active": True, "tickCount": 1}},
    {"event": "standard/newTrade", "data": {"gameId": "20251107-aaaaaaaaaaaaaaaa", "type": "x"}},
]


@pytest.fixture
def topology(amqp_url):
    declared = Topology(amqp_url).declare()
    yield declared
    declared.close()


@pytest.fixture
def db(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    return fresh_pg_dsn


def _config(topology: Topology, dsn: str, **overrides: object) -> ConsumerConfig:
    values: dict[str, object] = {
        "amqp_url": topology.url,
        "database_url": dsn,
        "queue": topology.queue,
        "dead_letter_exchange": topology.dead_letter_exchange,
        "dead_letter_queue": topology.dead_letter_queue,
        "batch_size": 50,
        "prefetch": 100,
        "batch_wait_s": 0.1,
        "idle_exit_s": 0.5,
        "backoff_initial_s": 0.1,
        "backoff_max_s": 0.5,
        "connect_timeout_s": 2,
    }
    values.update(overrides)
    return ConsumerConfig(**values)  # type: ignore[arg-type]


def _wait(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def _proxied(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()


def test_duplicates_and_malformed_messages_yield_exactly_the_expected_rows(topology, db):
    messages, expected = stream(3)
    topology.publish(*messages)
    topology.publish(*messages[::7])  # redelivered copies
    topology.publish(*MALFORMED)

    stats = Consumer(_config(topology, db)).run()

    assert stored_counts(db) == expected_counts(expected)
    assert stored_rug_ticks(db) == expected.games
    assert stats.dead_lettered == len(MALFORMED)
    assert stats.received == len(messages) + len(messages[::7]) + len(MALFORMED)
    assert topology.depth() == 0
    dead = topology.drain(topology.dead_letter_queue)
    assert [body for _, body in dead] == [
        m if isinstance(m, bytes) else json.dumps(m).encode() for m in MALFORMED
    ]
    reasons = [props.headers[DEATH_REASON_HEADER] for props, _ in dead]
    assert reasons[0].startswith("body is not JSON")
    assert reasons[2] == "body is a JSON str, not an object"
    assert all(reasons), reasons
    assert all(props.headers["x-original-queue"] == topology.queue for props, _ in dead)
    assert all(props.delivery_mode == 2 for props, _ in dead)


def test_a_message_that_breaks_the_handler_is_isolated_and_dead_lettered(topology, db):
    messages, expected = round_messages(0, 60)
    bomb = {"event": "gameStateUpdate", "data": {"gameId": "boom", "explode": True}}
    topology.publish(*messages[:30], bomb, *messages[30:])

    def fragile(conn, batch, *, source, mode):
        if any(isinstance(m, dict) and m.get("data", {}).get("explode") for m in batch):
            raise ValueError("cannot digest this one")
        return ingest_batch(conn, batch, source=source, mode=mode)

    stats = Consumer(_config(topology, db), handler=fragile).run()

    assert stored_counts(db) == expected_counts(expected)
    (props, body), *rest = topology.drain(topology.dead_letter_queue)
    assert not rest and json.loads(body) == bomb
    assert (
        props.headers[DEATH_REASON_HEADER] == "handler failed: ValueError: cannot digest this one"
    )
    assert stats.dead_lettered == 1


def test_stop_finishes_the_batch_in_hand_and_leaves_the_rest_queued(topology, db):
    messages, _ = stream(6)  # more than the prefetch of 100
    topology.publish(*messages)
    consumer: Consumer

    def stopping(conn, batch, *, source, mode):
        consumer.stop()  # as SIGTERM would, while a batch is being written
        return ingest_batch(conn, batch, source=source, mode=mode)

    consumer = Consumer(_config(topology, db, idle_exit_s=None), handler=stopping)
    stats = consumer.run()

    # the batch being written and the one being received are committed and acknowledged
    assert 50 <= stats.received < len(messages)
    assert stored_counts(db)["websocket_events"] == stats.received
    topology.wait_depth(len(messages) - stats.received)  # the rest went back to the queue


def _run_in_thread(consumer: Consumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return thread


def _stop(consumer: Consumer, thread: threading.Thread) -> None:
    consumer.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_broker_outage_reconnects_and_continues(topology, db):
    first, _ = round_messages(0, 40)
    second, _ = round_messages(1, 50, start_ms=1_762_600_000_000)
    _, expected = stream(0)
    proxy = TcpProxy(("127.0.0.1", urlsplit(topology.url).port or 5672))
    proxy.start()
    consumer = Consumer(
        _config(topology, db, amqp_url=_proxied(topology.url, proxy), idle_exit_s=None)
    )
    thread = _run_in_thread(consumer)
    try:
        topology.publish(*first)
        _wait(lambda: stored_counts(db)["websocket_events"] == len(first), 10, "first round")
        proxy.stop()
        topology.publish(*second)  # while the consumer cannot reach the broker
        time.sleep(0.5)
        proxy.start()
        total = len(first) + len(second)
        _wait(lambda: stored_counts(db)["websocket_events"] == total, 15, "second round")
    finally:
        _stop(consumer, thread)
        proxy.stop()
    assert consumer.stats.reconnects >= 1
    counts = stored_counts(db)
    assert counts["games"] == 2 and counts["ticks"] == 90
    assert stored_rug_ticks(db) == {second[0]["data"]["gameId"]: 50, first[0]["data"]["gameId"]: 40}
    assert topology.depth() == 0
    del expected


def test_database_outage_reconnects_without_loss_or_duplicates(topology, db):
    messages, expected = stream(4)
    half = len(messages) // 2
    parts = psycopg.conninfo.conninfo_to_dict(db)
    proxy = TcpProxy((parts.get("host") or "127.0.0.1", int(parts.get("port") or 5432)))
    proxy.start()
    via_proxy = psycopg.conninfo.make_conninfo(db, host="127.0.0.1", port=proxy.port)
    consumer = Consumer(_config(topology, via_proxy, idle_exit_s=None))
    thread = _run_in_thread(consumer)
    try:
        topology.publish(*messages[:half])
        _wait(lambda: stored_counts(db)["websocket_events"] == half, 10, "first half")
        proxy.stop()
        topology.publish(*messages[half:])  # the next batch fails to commit and is requeued
        _wait(lambda: consumer.stats.reconnects >= 1, 10, "a reconnect attempt")
        proxy.start()
        _wait(lambda: stored_counts(db)["websocket_events"] == expected.events, 15, "second half")
    finally:
        _stop(consumer, thread)
        proxy.stop()
    assert stored_counts(db) == expected_counts(expected)
    assert topology.depth() == 0


def test_without_declare_a_missing_queue_is_a_configuration_error(amqp_url, db):
    topology = Topology(amqp_url)  # names only: nothing declared
    try:
        with pytest.raises(ConsumerConfigError, match="--declare"):
            Consumer(_config(topology, db)).run()
    finally:
        topology.close()


def test_declare_creates_the_topology_with_the_bots_queue_arguments(amqp_url, db):
    topology = Topology(amqp_url)
    try:
        Consumer(_config(topology, db, declare=True, idle_exit_s=0.2)).run()
        # redeclaring with the bot's arguments succeeds only if they match exactly
        topology.declare()
        topology.publish(b"junk")
        Consumer(_config(topology, db, declare=True, idle_exit_s=0.3)).run()
        (props, body), *_ = topology.drain(topology.dead_letter_queue)
        assert body == b"junk" and props.headers[DEATH_REASON_HEADER]
    finally:
        topology.close()


def test_an_invalid_mode_stops_the_consumer_instead_of_dead_lettering(topology, db):
    messages, _ = round_messages(0, 10)
    topology.publish(*messages)
    with pytest.raises(ConsumerConfigError, match="mode"):
        Consumer(_config(topology, db, mode="Not A Mode!")).run()
    assert topology.depth(topology.dead_letter_queue) == 0
    topology.wait_depth(len(messages))


def test_a_round_stored_under_another_mode_is_left_alone_and_its_messages_dead_lettered(
    topology, db
):
    stored, _ = round_messages(0, 30)
    topology.publish(*stored)
    Consumer(_config(topology, db)).run()  # classic
    gid = stored[0]["data"]["gameId"]
    with psycopg.connect(db) as conn:
        before = row_checksums(conn, [gid])
    # a different round under that id (as two modes simulated with one seed had), a new one
    clash, _ = round_messages(0, 45, start_ms=1_762_700_000_000, seed=3)
    fresh, expected = round_messages(1, 20, start_ms=1_762_800_000_000)
    topology.publish(*clash, *fresh)

    stats = Consumer(_config(topology, db, mode="rising_hazard")).run()

    fresh_id = fresh[0]["data"]["gameId"]
    with psycopg.connect(db) as conn:
        assert row_checksums(conn, [gid]) == before
        modes = dict(conn.execute("SELECT game_id, mode FROM games").fetchall())
        ticks = conn.execute("SELECT count(*) FROM ticks WHERE game_id = %s", (fresh_id,))
        assert ticks.fetchone() == (expected.ticks,)
    assert modes == {gid: "classic", fresh_id: "rising_hazard"}
    assert stats.dead_lettered == len(clash) and stats.stored == len(fresh)
    dead = topology.drain(topology.dead_letter_queue)
    assert [json.loads(body) for _, body in dead] == clash  # kept, to be imported rightly
    reasons = {props.headers[DEATH_REASON_HEADER] for props, _ in dead}
    assert reasons == {f"round {gid} is stored as mode classic, not rising_hazard: left alone"}


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    low = [backoff_delay(n, 0.5, 30, rng=lambda: 0.0) for n in range(8)]
    high = [backoff_delay(n, 0.5, 30, rng=lambda: 1.0) for n in range(8)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(10_000, 0.5, 30) <= 30


def test_prefetch_below_batch_size_is_refused():
    with pytest.raises(ValueError, match="prefetch"):
        ConsumerConfig(
            amqp_url="amqp://x", database_url="postgresql://x", batch_size=100, prefetch=10
        )
