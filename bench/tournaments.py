"""Tournaments through the API on `agent-service worker` processes (RabbitMQ jobs).

Starts the service in its production shape (a PostgreSQL database, a RabbitMQ jobs
queue and events exchange of its own) and `--workers` worker processes, then:

1. throughput, scripted bots: the archetypes and the oracle in classic, then the seven
   personas, each with a test that cannot decide (h1 tiny), so the whole budget is
   played; rounds per minute from the submit to the finished job (floor >= 100,000
   with 2 workers);
2. throughput, PPO policies (batched numpy inference): two PPO baselines and the oracle
   (floor >= 10,000 with 2 workers);
3. the acceptance tournament in classic and rising_hazard: the seven personas, the PPO
   baseline, the hybrid and the oracle, with the default sequential test, and two A/A
   pairs that must not be declared different: the PPO baseline twice (deterministic:
   identical outcomes every round) and the random sidebet bot twice (same bot, its own
   random stream each: outcomes differ round by round, equal in expectation, so the
   sequential test itself is tried); prints the standings and the floors.

    python bench/tournaments.py [--workers 2] [--scripted-rounds 200000] [--ppo-rounds 40000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_harness import AMQP, REPO, Service, load, running

PERSONAS = ("early_seller", "diamond_hands", "dip_buyer", "sidebet_regular", "whale", "random",
            "copy_trader")  # fmt: skip


def start_workers(service: Service, n: int) -> list[subprocess.Popen]:
    log = (service.data_dir / "workers.log").open("a")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agent_service", "worker"],
            env=service.env(),
            cwd=service.tree,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(n)
    ]
    log.close()
    return procs


def wait_consumers(service: Service, n: int, within: float = 300) -> None:
    """Until `n` workers consume the jobs queue (their start-up is not throughput)."""
    import pika

    queue = service.amqp_names[0]
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection = pika.BlockingConnection(pika.URLParameters(AMQP))
            with contextlib.closing(connection):
                declared = connection.channel().queue_declare(queue, passive=True)
                if declared.method.consumer_count >= n:
                    return
        time.sleep(1)
    raise SystemExit(f"{n} workers did not start consuming within {within} s")


def run(service: Service, spec: dict, within: float = 1800) -> tuple[dict, float]:
    started = time.perf_counter()
    r = requests.post(service.base + "/v1/tournaments", json=spec, headers=service.headers,
                      timeout=120)  # fmt: skip
    if r.status_code != 202:
        raise SystemExit(f"tournament refused: {r.status_code} {r.text[:500]}")
    status_url = service.base + r.json()["status_url"]
    while time.perf_counter() - started < within:
        job = requests.get(status_url, headers=service.headers, timeout=30).json()
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    if job["state"] != "succeeded":
        raise SystemExit(f"tournament {job['state']}: {job.get('error')}")
    body = requests.get(service.base + r.json()["tournament_url"], headers=service.headers,
                        timeout=30).json()  # fmt: skip
    return body, seconds


def standings(body: dict) -> str:
    result = body["result"]
    rows = [f"{'entrant':<16} {'rank':>5} {'PnL/round (95 %)':>30} {'win rate':>16} "
            f"{'bets/round':>10}"]  # fmt: skip
    for e in result["entrants"]:
        p, w = e["pnl"], e["win_rate"]
        rank = (str(e["rank_range"][0]) if e["rank_range"][0] == e["rank_range"][1]
                else f"{e['rank_range'][0]}-{e['rank_range'][1]}")  # fmt: skip
        win = f"{w['mean']:.1%} ({w['low']:.0%}-{w['high']:.0%})" if w else "-"
        bets = e["bets_per_round"]["mean"]
        rows.append(f"{e['name']:<16} {rank:>5} {p['mean']:>+10.4f} [{p['low']:+.4f}, "
                    f"{p['high']:+.4f}] {win:>16} {bets:>10.3f}")  # fmt: skip
    counts: dict[str, int] = {}
    for p in result["pairs"]:
        counts[p["verdict"]] = counts.get(p["verdict"], 0) + 1
    rows.append(f"pairs: {counts}; ranking groups: {result['ranking']}")
    return "\n".join(rows)


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """User + system CPU time the worker processes have used so far."""
    total = 0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def throughput(what: str, body: dict, seconds: float, cpu: float, floor: int) -> tuple[str, float]:
    """Rounds per minute of wall time from the submit, and what the workers' CPU time
    says they would do with a core each (the machine is shared: see the load)."""
    rounds, own = body["result"]["rounds"], body["result"]["rounds_per_minute"]
    rpm = rounds / seconds * 60
    per_core = rounds / cpu * 60 if cpu > 0 else float("nan")
    return (f"{what}: {rounds} rounds in {seconds:.1f} s = {rpm:,.0f} rounds/min from submit "
            f"(the job's own count: {own:,.0f}); workers' CPU {cpu:.1f} s = {per_core:,.0f} "
            f"rounds per CPU-minute, {2 * per_core:,.0f}/min on 2 free cores; floor "
            f"{floor:,}; {load()}"), rpm  # fmt: skip


def floor_line(what: str, value: float, floor: float) -> str:
    return f"{what}: {value:,.0f} rounds/min, floor {floor:,.0f}: " + (
        "met" if value >= floor else "NOT MET"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scripted-rounds", type=int, default=200_000)
    parser.add_argument("--ppo-rounds", type=int, default=40_000)
    parser.add_argument("--acceptance-rounds", type=int, default=60_000)
    parser.add_argument(
        "--skip", default="", help="comma list of: scripted,personas,ppo,acceptance"
    )
    parser.add_argument(
        "--figure", type=Path, help="write the rising_hazard standings SVG here (docs/figures/)"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    data_dir = Path(tempfile.mkdtemp(prefix="bench-tournaments-"))
    service = Service(REPO, "production", data_dir, workers=1, threads=4)
    with running(service):
        service.start()
        service.wait(service.ready, within=300)
        workers = start_workers(service, args.workers)
        try:
            wait_consumers(service, args.workers)
            print(f"{args.workers} workers (concurrency 1 each); {load()}; {os.cpu_count()} CPUs")
            no_decision = {"h1": 0.001, "min_rounds": 100}
            floors: list[str] = []

            def measure(spec: dict, label: str, floor_name: str, floor: int) -> None:
                cpu = cpu_seconds(workers)
                body, seconds = run(service, spec)
                cpu = cpu_seconds(workers) - cpu
                line, rpm = throughput(label, body, seconds, cpu, floor)
                print(line)
                floors.append(floor_line(floor_name, rpm, floor))

            if "scripted" not in skip:
                spec = {"mode": "classic", "seed": 1, "max_rounds": args.scripted_rounds,
                        "chunk_rounds": 10_000, "sprt": no_decision, "entrants": [
                            {"kind": "archetype", "name": a, "archetype": a}
                            for a in ("aggressive", "conservative", "whale_hunter", "random")
                        ] + [{"kind": "oracle", "name": "oracle"}]}  # fmt: skip
                measure(spec, "scripted (4 archetypes + oracle, classic)", "scripted bots", 100_000)
            if "personas" not in skip:
                spec = {"mode": "classic", "seed": 3, "max_rounds": args.scripted_rounds,
                        "chunk_rounds": 10_000, "sprt": no_decision, "entrants": [
                            {"kind": "persona", "name": p, "persona": p} for p in PERSONAS
                        ]}  # fmt: skip
                measure(spec, "scripted (the 7 personas, classic)", "scripted personas", 100_000)
            if "ppo" not in skip:
                spec = {"mode": "classic", "seed": 2, "max_rounds": args.ppo_rounds,
                        "chunk_rounds": 5_000, "sprt": no_decision, "entrants": [
                            {"kind": "policy", "name": "ppo_classic",
                             "policy_id": "baseline:classic"},
                            {"kind": "policy", "name": "ppo_rising",
                             "policy_id": "baseline:rising_hazard"},
                            {"kind": "oracle", "name": "oracle"}]}  # fmt: skip
                measure(spec, "PPO (2 policies + oracle, classic)", "PPO policies", 10_000)
            if "acceptance" not in skip:
                for mode in ("classic", "rising_hazard"):
                    entrants = [{"kind": "persona", "name": p, "persona": p} for p in PERSONAS]
                    entrants += [
                        {"kind": "policy", "name": "ppo", "policy_id": f"baseline:{mode}"},
                        {"kind": "policy", "name": "ppo_again", "policy_id": f"baseline:{mode}"},
                        {"kind": "hybrid", "name": "hybrid", "policy_id": f"baseline:{mode}"},
                        {"kind": "oracle", "name": "oracle"},
                        {"kind": "archetype", "name": "coin", "archetype": "random"},
                        {"kind": "archetype", "name": "coin_again", "archetype": "random"},
                    ]
                    spec = {"mode": mode, "seed": 7, "max_rounds": args.acceptance_rounds,
                            "chunk_rounds": 5_000, "entrants": entrants}  # fmt: skip
                    body, seconds = run(service, spec)
                    result = body["result"]
                    print(f"\n{mode}: {result['status']} (every pair by round "
                          f"{result['decided_at']}) after {result['rounds']} rounds in "
                          f"{seconds:.1f} s ({result['rounds'] / seconds * 60:,.0f} rounds/min); "
                          f"{load()}")  # fmt: skip
                    print(standings(body))
                    if args.figure is not None and mode == "rising_hazard":
                        svg = requests.get(service.base + body["intervals_svg_url"],
                                           headers=service.headers, timeout=30)  # fmt: skip
                        args.figure.write_bytes(svg.content)
                    for pair in (("ppo", "ppo_again"), ("coin", "coin_again")):
                        aa = next(p for p in result["pairs"] if {p["a"], p["b"]} == set(pair))
                        different = aa["verdict"] in ("a_better", "b_better")
                        verdict = "NOT MET (declared different)" if different else "met"
                        print(f"A/A pair {' / '.join(pair)}: {aa['verdict']} at "
                              f"{aa['decided_at']} rounds, effect {aa['effect']}")  # fmt: skip
                        floors.append(f"A/A pair {' / '.join(pair)} in {mode}: {aa['verdict']}"
                                      f" at {aa['decided_at']} rounds: {verdict}")  # fmt: skip
            print("\nfloors:\n" + "\n".join(floors))
        finally:
            for proc in workers:
                proc.terminate()
            for proc in workers:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
