"""The `tournament.run` job and its `tournament.chunk` helpers.

The tournament job cuts the budget into chunks of rounds, keeps `LOOKAHEAD` chunks
ahead of the merged ones recorded as pending and submits a chunk job for each, so any
number of workers play them; it plays pending chunks itself too (so a single worker,
or a process that cannot submit jobs, still finishes). Finished chunks are merged in
round order, the pair tests run on the merged rounds, progress and the running summary
are written; once every pair is decided, or the budget is spent (marked
`budget_exhausted`), the pending chunks are cancelled and the summary is stored and
published on `agent.events` as `tournament.finished`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from prometheus_client import Counter

from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import (
    current_job_id,
    job_database,
    job_events,
    job_submitter,
)
from capabilities.engines.jobs.service import process_worker_id
from capabilities.tournaments import store
from capabilities.tournaments.entrants import Lineup, build_field, play_chunk, store_loader
from capabilities.tournaments.models import TournamentSpec
from capabilities.tournaments.service import Standings
from tools.errors import BackendUnavailable
from tools.postgres import Database

log = logging.getLogger(__name__)
KIND, CHUNK_KIND = "tournament.run", "tournament.chunk"
LOOKAHEAD = 6  # chunks recorded ahead of the merged ones: enough to keep workers busy
ROUNDS_PLAYED = Counter(
    "agent_tournament_rounds_total", "Tournament rounds played (all entrants), by mode", ["mode"]
)
_fields: OrderedDict[uuid.UUID, Lineup] = OrderedDict()
_fields_lock = threading.Lock()


def _field(database: Database, tournament_id: uuid.UUID, spec: TournamentSpec) -> Lineup:
    """The tournament's entrants, built once per process (policies loaded, tables made)."""
    with _fields_lock:
        if tournament_id in _fields:
            return _fields[tournament_id]
    field = build_field(spec, store_loader(database))
    with _fields_lock:
        _fields[tournament_id] = field
        while len(_fields) > 4:
            _fields.popitem(last=False)
    return field


def _play(
    database: Database, tournament_id: uuid.UUID, field: Lineup, worker: str, claimed: tuple
) -> None:
    chunk, first_round, n_rounds = claimed
    started = time.perf_counter()
    outcome = play_chunk(field, first_round, n_rounds)
    data = store.encode_outcome(outcome)
    store.finish_chunk(database, tournament_id, chunk, worker, data, time.perf_counter() - started)


@handler(KIND)
def tournament_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    spec = TournamentSpec.model_validate(payload)
    database, tid = job_database(), current_job_id()
    store.create(database, tid, spec.mode, payload)
    store.restart(database, tid)
    field = _field(database, tid, spec)
    submit = job_submitter()
    worker = f"{process_worker_id()}:{tid}"
    standings = Standings(spec)
    n_chunks = math.ceil(spec.max_rounds / spec.chunk_rounds)
    recorded = merged = 0
    started = time.monotonic()
    progress(0.0, f"{len(spec.entrants)} entrants, up to {spec.max_rounds} rounds")
    while True:
        while recorded < n_chunks and recorded - merged < LOOKAHEAD:
            first = recorded * spec.chunk_rounds
            size = min(spec.chunk_rounds, spec.max_rounds - first)
            store.add_chunk(database, tid, recorded, first, size)
            if submit is not None:
                try:
                    submit(CHUNK_KIND, {"tournament_id": str(tid), "chunk": recorded})
                except BackendUnavailable as exc:  # this job plays the chunk itself
                    log.warning("chunk job not submitted", extra={"detail": str(exc)})
            recorded += 1
        # throttled by the runner; gives the job back when the process shuts down
        progress(standings.rounds / spec.max_rounds, f"{standings.rounds} rounds merged")
        claimed = store.claim(database, tid, worker)
        if claimed is not None:
            _play(database, tid, field, worker, claimed)
        before = merged
        merged = _merge(database, tid, standings, merged, recorded)
        if merged > before:
            if merged == n_chunks or standings.all_decided():
                break
            rpm = standings.rounds / max(time.monotonic() - started, 1e-9) * 60
            running = standings.result(finished=False, rounds_per_minute=rpm)
            store.save_result(database, tid, running.model_dump(mode="json"))
            undecided = sum(p.verdict == "undecided" for p in running.pairs)
            progress(
                standings.rounds / spec.max_rounds,
                f"{standings.rounds} rounds, {undecided} of {len(running.pairs)} pairs undecided",
            )
        elif claimed is None:
            time.sleep(0.05)
    store.cancel_pending(database, tid)
    rpm = standings.rounds / max(time.monotonic() - started, 1e-9) * 60
    result = standings.result(finished=True, rounds_per_minute=rpm)
    store.save_result(database, tid, result.model_dump(mode="json"))
    summary = {
        "tournament_id": str(tid),
        "mode": spec.mode,
        "status": result.status,
        "rounds": result.rounds,
        "ranking": result.ranking,
        "rounds_per_minute": round(rpm),
    }
    _publish(summary)
    return summary


def _merge(
    database: Database, tid: uuid.UUID, standings: Standings, merged: int, recorded: int
) -> int:
    """Merge the done chunks that follow the merged ones; the new merged count."""
    states = store.chunk_states(database, tid)
    run = []
    for chunk in range(merged, recorded):
        if states.get(chunk) != "done":
            break
        run.append(chunk)
    if not run:
        return merged
    for _, data, _ in store.done_chunks(database, tid, run):
        standings.add(store.decode_outcome(data))
    return merged + len(run)


def _publish(summary: dict[str, Any]) -> None:
    events = job_events()
    if events is None:
        return
    try:
        events.publish("tournament.finished", summary)
    except BackendUnavailable as exc:  # the stored result is the record; the event a courtesy
        log.warning("tournament summary not published", extra={"detail": str(exc)})


@handler(CHUNK_KIND)
def chunk_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Play one chunk if nobody has taken it yet (else there is nothing to do)."""
    tid, chunk = uuid.UUID(str(payload["tournament_id"])), int(payload["chunk"])
    database = job_database()
    worker = f"{process_worker_id()}:{current_job_id()}"
    claimed = store.claim(database, tid, worker, chunk=chunk)
    if claimed is None:
        return {"chunk": chunk, "played": False}
    spec = TournamentSpec.model_validate(store.spec_of(database, tid))
    _play(database, tid, _field(database, tid, spec), worker, claimed)
    return {"chunk": chunk, "played": True, "rounds": claimed[2]}
