"""Opponent modeling figures: fit time, next-action accuracy vs baselines, predict latency
over loopback HTTP, and profiles on the shared real data.

1. Simulated: `--rounds` rounds with `--players` players of the seven personas
   (`game.personas`), fitted in memory (`capabilities.opponents.service.fit`: the time
   split evaluation and the served fit on every round, on two threads); prints the fit
   time (wall and this process's CPU: the load changes the first only), the
   adjusted Rand index of the archetypes against the personas, and top-1 / log loss /
   ECE against the majority and own-frequency baselines (95 % Wilson intervals).
2. Predict: a real `agent-service serve` on a database of its own, the model stored in
   it; 2 x `--requests` sequential POST /v1/opponents/predict with 100 items each,
   through `requests` (the batch encoded every time, as the bot kit's client does) and
   on a plain kept-alive connection (the body encoded once: the service without a client
   library's time), interleaved with as many GET /health (the floor of any request at
   the load of the moment): min/p50/p95/p99, the application's share (`Server-Timing`)
   and the worker's CPU per request. `--before REF` serves that
   ref's tree beside this checkout, each request sent to both in turn (a paired
   before/after that survives the load), and says whether their answers are identical.
3. Real data: the websocket capture in tests/data/real (renamed to the legacy envelope,
   `event_type` -> `event`), imported into a fresh database; the profiles it yields.

Consumer throughput with the live counters on: bench/consumer_throughput.py (`--compare
N` alternates runs with them off). Players unlike the tuned personas, scored through the
endpoint: bench/opponents_robustness.py.

    python bench/opponents.py --rounds 10000 --players 50
    python bench/opponents.py --rounds 1000 --players 35 --requests 200
    python bench/opponents.py --requests 300 --before main
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from bench.service_harness import PG_ADMIN, Service, load, percentile, running, trees  # noqa: E402
from capabilities.opponents import service  # noqa: E402
from capabilities.opponents.history import from_activity, load_history  # noqa: E402
from capabilities.opponents.models import OpponentFitSpec, OpponentPredictItem  # noqa: E402
from game.personas import make_players, simulate_players  # noqa: E402
from game.rules import load_mode  # noqa: E402
from game.simulator import simulate_rounds  # noqa: E402
from tools.migrations import migrate  # noqa: E402
from tools.postgres import Database  # noqa: E402

REAL = REPO / "tests" / "data" / "real" / "websocket_capture_sample.jsonl"


def simulated(n_rounds: int, n_players: int, seed: int, spec: OpponentFitSpec):  # type: ignore[no-untyped-def]
    from sklearn.metrics import adjusted_rand_score

    rules = load_mode("classic")
    began = time.perf_counter()
    rounds = simulate_rounds(rules, n_rounds, seed)
    players = make_players(n_players, seed)
    h = from_activity(rounds, simulate_players(rules, rounds, players), players)
    print(f"simulated {n_rounds} rounds x {n_players} players in "
          f"{time.perf_counter() - began:.1f} s: {len(h.t_round)} trades, "
          f"{len(h.s_round)} sidebets")  # fmt: skip
    began, cpu = time.perf_counter(), time.process_time()
    fitted, rows = service.fit(h, spec)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    ari = adjusted_rand_score([p.persona for p in players],
                              fitted.archetypes.memberships.argmax(axis=1))  # fmt: skip
    s = fitted.summary
    print(f"fit {seconds:.1f} s, CPU {cpu:.1f} s (evaluate {s['seconds']['evaluate']} s and "
          f"served fit {s['seconds']['fit']} s on two threads), {load()}")  # fmt: skip
    print(f"archetypes: {len(s['archetypes']['groups'])} groups (BIC), ARI {ari:.3f} vs personas")
    for g in s["archetypes"]["groups"]:
        print(f"  {g['players']:3d} players  {g['name']}")
    kept = s["evaluation"].get("iterations")
    if kept:
        print(
            f"boosting iterations kept: {kept['chosen']} of {kept['max']} (least held-out "
            f"log loss {kept['log_loss_at'][str(kept['chosen'])]})"
        )
    for horizon, r in s["evaluation"]["horizons"].items():
        ci = r["top1_ci"]
        print(
            f"horizon {horizon}: top-1 {r['top1']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] on "
            f"{r['acting_moments']} acting moments; majority {r['baseline_majority']:.3f} "
            f"[{r['baseline_majority_ci'][0]:.3f}, {r['baseline_majority_ci'][1]:.3f}], "
            f"own frequency {r['baseline_own_frequency']:.3f} "
            f"[{r['baseline_own_frequency_ci'][0]:.3f}, "
            f"{r['baseline_own_frequency_ci'][1]:.3f}]; log loss {r['log_loss']:.4f}, "
            f"ECE {r['ece']:.4f}; strict (none included) {r['top1_strict']:.3f}; "
            f"tick/price/position only {r['top1_minimal_state']:.3f}"
        )
    return fitted, rows, players


@contextmanager
def serving(fitted, rows, tree: Path = REPO) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    """A service of `tree` (one worker, four threads, its own database) that serves `fitted`."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(Service(tree, "postgres", Path(tmp), workers=1, threads=4)) as svc,
    ):
        svc.start()
        svc.wait(svc.ready)
        database = Database(svc.database_url())
        try:
            service.store(database, fitted, rows)
        finally:
            database.close()
        yield svc


def predict_body(players) -> dict:  # type: ignore[no-untyped-def]
    """100 items: the players in turn, random ticks and prices, 20 recent prices, every
    other one holding a position."""
    rng = np.random.default_rng(1)
    body: dict = {"items": []}
    for i in range(100):
        item = {
            "player_id": players[i % len(players)].player_id,
            "state": {"tick": int(rng.integers(0, 300)), "price": float(rng.uniform(0.5, 3)),
                      "recent_prices": [1.0] * 20, "sidebets_this_round": 0},
            "horizon_ticks": 10,
        }  # fmt: skip
        if i % 2:
            item["position"] = {"qty": 0.5, "avg_cost": 1.0, "entry_tick": 0}
        body["items"].append(item)
    return body


def _lean_post(conn: http.client.HTTPConnection, path: str, raw: bytes, headers: dict) -> Answer:
    """A POST on a kept-alive connection with a body encoded beforehand: what the
    service costs without a client library's own time (requests adds ~2-3 ms here)."""
    headers = {**headers, "Content-Type": "application/json"}
    try:
        conn.request("POST", path, body=raw, headers=headers)
        r = conn.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        conn.close()  # kept alive past the server's keep-alive (5 s): connect again
        conn.request("POST", path, body=raw, headers=headers)
        r = conn.getresponse()
    return Answer(r.status, r.read().decode(), r.getheader("Server-Timing", ""))


@dataclass
class Answer:
    status_code: int
    text: str
    server_timing: str


def _answer(r: requests.Response) -> Answer:
    return Answer(r.status_code, r.text, r.headers.get("Server-Timing", ""))


def predict_latency(
    fitted, rows, players, n_requests: int, sources: list[tuple[str, Path]]
) -> None:  # type: ignore[no-untyped-def]
    """Each tree served side by side; every request goes to each service in turn (the
    order alternating), so a `--before` tree and this checkout see the same load. Three
    kinds: predict through `requests` (encoding the batch each time, as the bot kit's
    client does), predict on a plain kept-alive connection with the body encoded once,
    and GET /health; the service's own share of each predict from `Server-Timing`."""
    body = predict_body(players)
    raw = json.dumps(body).encode()
    path = "/v1/opponents/predict"
    with ExitStack() as stack:
        served = {
            label: stack.enter_context(serving(fitted, rows, tree)) for label, tree in sources
        }
        sessions = {label: requests.Session() for label in served}
        lean = {
            label: http.client.HTTPConnection("127.0.0.1", svc.port)
            for label, svc in served.items()
        }
        answers = {}
        for label, svc in served.items():
            url, session = svc.base + path, sessions[label]
            svc.wait(lambda: session.post(url, json=body, headers=svc.headers).status_code == 200)  # noqa: B023
            answers[label] = session.post(url, json=body, headers=svc.headers).json()["items"]
        workers = {label: svc.pids()["worker1"] for label, svc in served.items()}
        calls = {
            "predict": lambda label, svc: _answer(
                sessions[label].post(svc.base + path, json=body, headers=svc.headers)
            ),
            "predict, lean client": lambda label, svc: _lean_post(
                lean[label], path, raw, svc.headers
            ),
            "health": lambda label, svc: _answer(sessions[label].get(svc.base + "/health")),
        }
        times: dict[tuple[str, str], list[float]] = {
            (name, k): [] for name in served for k in calls
        }
        app_ms: dict[tuple[str, str], list[float]] = {key: [] for key in times}
        cpu = dict.fromkeys(times, 0.0)
        # interleaved halves, so every kind sees the same load; /health is the floor any
        # request pays on this machine now (HTTP, gunicorn, scheduling); the worker's CPU
        # time per request is what the load does not change
        for _ in range(2):
            for kind, call in calls.items():
                before = {label: cpu_seconds(pid) or 0.0 for label, pid in workers.items()}
                for i in range(n_requests):
                    for label in list(served)[:: 1 if i % 2 else -1]:
                        began = time.perf_counter()
                        r = call(label, served[label])
                        times[(label, kind)].append((time.perf_counter() - began) * 1000)
                        assert r.status_code == 200, r.text
                        app_ms[(label, kind)].append(float(r.server_timing.split("dur=")[1]))
                for label, pid in workers.items():
                    cpu[(label, kind)] += (cpu_seconds(pid) or 0.0) - before[label]
    for (label, kind), t in times.items():
        t.sort()
        a = sorted(app_ms[(label, kind)])
        print(f"{label}: {kind} ({'GET /health' if kind == 'health' else 'batch 100'}), "
              f"{len(t)} sequential requests over loopback: min {t[0]:.2f} ms, "
              f"p50 {percentile(t, 50):.2f} ms, p95 {percentile(t, 95):.2f} ms, "
              f"p99 {percentile(t, 99):.2f} ms, max {t[-1]:.2f} ms (the application's "
              f"share: p50 {percentile(a, 50):.2f} ms, p99 {percentile(a, 99):.2f} ms); "
              f"worker CPU {cpu[(label, kind)] / len(t) * 1000:.2f} ms/request; "
              f"{load()}")  # fmt: skip
    if len(sources) == 2:
        (first, a), (second, b) = answers.items()
        ratio = cpu[(second, "predict")] / cpu[(first, "predict")]
        print(f"predict worker CPU {second} / {first}: {ratio:.3f}; answers identical: {a == b}")
    items = [OpponentPredictItem.model_validate(i) for i in body["items"]]
    began = time.process_time()
    for _ in range(50):
        service.predict(fitted, items)
    print(f"predict in-process (this checkout), batch 100: "
          f"{(time.process_time() - began) / 50 * 1000:.2f} ms CPU")  # fmt: skip


def real_data() -> None:
    from tools.importer import import_file

    name = f"bench_opp_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            legacy = Path(tmp) / "capture.jsonl"
            with REAL.open() as src, legacy.open("w") as out:
                for line in src:
                    m = json.loads(line)
                    out.write(json.dumps({"event": m["event_type"], "ts": m["timestamp"],
                                          "data": m["data"]}) + "\n")  # fmt: skip
            with psycopg.connect(dsn) as conn:
                migrate(conn)
            with psycopg.connect(dsn) as conn:
                import_file(conn, legacy)
        database = Database(dsn)
        try:
            h = load_history(database)
            from capabilities.opponents.stats import player_stats

            stats = player_stats(h)
            print(
                f"real capture: {h.n_rounds} rounds with ticks, {h.n_players} players with "
                f"trades or sidebets, {len(h.t_round)} trades, {len(h.s_round)} sidebets"
            )
            for p in range(h.n_players):
                print(f"  {h.player_ids[p][-10:]} {str(h.usernames[p])[:12]:12s} level "
                      f"{h.levels[p]}, trades {stats.trades[p]}, pnl {stats.pnl[p]:+.4f}, "
                      f"entry tick {stats.column('entry_tick')[p]}")  # fmt: skip
            with database.connection() as conn:
                live = conn.execute("SELECT count(*), sum(trades) FROM opponent_live").fetchone()
            print(f"  live counters: {live[0]} players, {live[1]} trades")
        finally:
            database.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-moments", type=int, default=100_000)
    parser.add_argument("--max-iter", type=int, default=60)
    parser.add_argument("--requests", type=int, default=300, help="x 2, and as many /health")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--before", help="a git ref served beside this checkout, requests alternating (paired)"
    )
    args = parser.parse_args()
    print(f"load before: {load()}")
    spec = OpponentFitSpec(max_moments=args.max_moments, max_iter=args.max_iter, seed=0)
    fitted, rows, players = simulated(args.rounds, args.players, args.seed, spec)
    if not args.skip_http:
        with tempfile.TemporaryDirectory() as work:
            served = trees(args.before, Path(work))
            predict_latency(fitted, rows, players, args.requests, served)
    real_data()


if __name__ == "__main__":
    main()
