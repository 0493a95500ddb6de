"""The job table's state machine: claims, leases and fencing against real PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.jobs import migrated
from tools.errors import Conflict
from tools.jobs_store import JobStore
from tools.postgres import Database


@pytest.fixture
def store(pg_dsn: str) -> Iterator[JobStore]:
    db = Database(migrated(pg_dsn), max_size=8)
    yield JobStore(db)
    with db.connection() as conn:  # no handler exists for these: keep sweepers off them
        conn.execute("DELETE FROM jobs WHERE kind LIKE 'store.%'")
    db.close()


def test_concurrent_claims_give_the_job_to_exactly_one_worker(store):
    job, _ = store.insert("store.race", {}, max_attempts=3)
    barrier = threading.Barrier(6)
    winners = []

    def claim(n: int) -> None:
        barrier.wait()
        if store.claim(job.id, f"w{n}", lease_s=30) is not None:
            winners.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    claimed = store.get(job.id)
    assert claimed.state == "running" and claimed.attempts == 1
    assert claimed.worker_id == f"w{winners[0]}" and claimed.lease_left_s > 25


def test_a_worker_whose_lease_was_taken_over_cannot_write(store):
    job, _ = store.insert("store.fence", {}, max_attempts=3)
    old = store.claim(job.id, "old", lease_s=1.0)
    assert store.claim(job.id, "new", lease_s=30) is None  # lease still valid
    time.sleep(1.1)
    new = store.claim(job.id, "new", lease_s=30)
    assert new is not None and new.attempts == 2
    assert not store.renew(job.id, "old", old.attempts, 30)
    assert not store.report_progress(job.id, "old", old.attempts, 0.5, "late", 30)
    assert not store.succeed(job.id, "old", old.attempts, {"from": "old"})
    assert store.fail_attempt(job.id, "old", old.attempts, "late") is None
    assert store.succeed(job.id, "new", new.attempts, {"from": "new"})
    done = store.get(job.id)
    assert done.state == "succeeded" and done.result == {"from": "new"}
    assert store.claim(job.id, "third", lease_s=30) is None  # finished jobs stay finished
    assert [(a.worker_id, a.outcome) for a in store.attempts(job.id)] == [
        ("old", "lost"),
        ("new", "succeeded"),
    ]


def test_last_attempt_lost_fails_the_job(store):
    job, _ = store.insert("store.abandon", {}, max_attempts=1)
    store.claim(job.id, "gone", lease_s=1.0)
    assert store.fail_abandoned(job.id) is None  # lease not yet expired
    time.sleep(1.1)
    assert store.claim(job.id, "other", lease_s=30) is None  # no attempt left
    failed = store.fail_abandoned(job.id)
    assert failed.state == "failed" and failed.worker_id is None
    assert "attempt 1 of 1 was lost" in failed.error and "gone" in failed.error


def test_idempotency_key_is_per_kind_and_payload_checked(store):
    a, created = store.insert(
        "store.idem", {"x": 1, "y": [1, 2]}, max_attempts=3, idempotency_key="k"
    )
    b, again = store.insert(
        "store.idem", {"y": [1, 2], "x": 1}, max_attempts=3, idempotency_key="k"
    )
    c, other_kind = store.insert("store.idem2", {"x": 1}, max_attempts=3, idempotency_key="k")
    assert created and not again and other_kind
    assert a.id == b.id != c.id
    with pytest.raises(Conflict, match="different payload"):
        store.insert("store.idem", {"x": 2}, max_attempts=3, idempotency_key="k")


def test_sweep_hands_out_each_orphan_once(store):
    orphan, _ = store.insert("store.sweep", {}, max_attempts=3)
    fresh, _ = store.insert("store.sweep", {}, max_attempts=3)
    store.mark_enqueued(fresh.id)
    found: list = []
    threads = [
        threading.Thread(target=lambda: found.extend(store.sweep(unpublished_s=0, stale_s=60)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found.count(orphan.id) == 1 and fresh.id not in found
    assert store.sweep(unpublished_s=0, stale_s=60).count(orphan.id) == 0  # now enqueued
