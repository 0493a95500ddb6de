"""Routing accuracy and answer latency of `POST /v1/chat` with no language model, over
loopback.

Starts `agent-service serve` (embedded backends unless DATABASE_URL/QDRANT_URL are set)
or hits `--url`, then asks every question of the chosen sets, each in a new
conversation, and prints per set, with Wilson 95 % intervals:
  - accuracy: a plain question routed to its intent (asking for a missing value of
    that intent counts), a question marked ambiguous asked back;
  - asked back: a plain question answered by a clarifying question (safe, not right);
  - wrong route: a plain question routed to another intent, or a marked-ambiguous one
    routed anywhere (a confident wrong answer: worse than asking back);
and the latency of the whole answer (routing, the capability's computation, storing
the turn): one client at a time, then `--concurrency` clients at once (the load).

Sets: `dev` .. `heldout4`, the earlier held-out sets, are training phrasings now
(capabilities/chat/intents/phrasings/; bench/chat_routing_cv.py cross-validates them); a
set kept in tests/capabilities/chat/routing_eval/ is one held out (written apart from the
examples, evaluated once) and is asked by its name; `tuned` and `terse` the older
phrasings of tests/capabilities/chat/phrasings.py the router was tuned on.
`--baseline DIR` also runs the service from another checkout (e.g. main's) on the same
questions, for the ratio. The floor: >= 95 % correct (terse, not held to it, apart) and
p95 <= 300 ms one client at a time.

    python bench/chat_routing.py --sets dev,heldout --baseline /work/main
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from http_load import KEY, percentile, service  # noqa: E402

from tests.capabilities.chat.phrasings import AMBIGUOUS, PHRASINGS, TERSE  # noqa: E402
from tests.capabilities.chat.routing_eval import Case, load  # noqa: E402
from tools.agent_tools.analytics_queries import wilson_interval  # noqa: E402


def cases(name: str) -> list[Case]:
    if name == "tuned":
        return [Case(m, w) for m, w in PHRASINGS] + [
            Case(m, None, tuple(sorted(a))) for m, a in AMBIGUOUS
        ]
    if name == "terse":
        return [Case(m, w) for m, w in TERSE]
    try:
        return load(name)
    except FileNotFoundError:
        raise SystemExit(f"unknown set {name!r}") from None


@dataclass
class Tally:
    """One set's outcomes; `wrong` lists (message, wanted, got)."""

    right: int = 0
    asked: int = 0
    wrong: list[tuple[str, str, str]] = field(default_factory=list)
    ambiguous: int = 0
    ambiguous_asked: int = 0

    @property
    def n(self) -> int:
        return self.right + self.asked + len(self.wrong)

    def add(self, case: Case, body: dict) -> None:
        got, clarified = body["intent"], body["clarification"]
        if case.intent is None:
            self.ambiguous += 1
            if got is None:
                self.right += 1
                self.ambiguous_asked += 1
            else:
                self.wrong.append((case.message, "(ask back)", got))
        elif got == case.intent and (clarified is None or clarified["reason"] == "missing_slot"):
            self.right += 1
        elif got is None:
            self.asked += 1
        else:
            self.wrong.append((case.message, case.intent, got))


def ask(session: requests.Session, base: str, key: str, message: str) -> tuple[dict, float]:
    started = time.perf_counter()
    r = session.post(base + "/v1/chat", json={"message": message},
                     headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip
    elapsed = (time.perf_counter() - started) * 1000.0
    r.raise_for_status()
    return r.json(), elapsed


def rate(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k / n:6.1%} [{lo:.1%}, {hi:.1%}]"


def under_load(base: str, key: str, messages: list[str], clients: int) -> list[float]:
    """Every message asked by each of `clients` threads at once (each its own order)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        session = requests.Session()
        mine = messages[offset:] + messages[:offset]
        for message in mine:
            _, ms = ask(session, base, key, message)
            with lock:
                latencies.append(ms)

    step = max(1, len(messages) // clients)
    threads = [threading.Thread(target=client, args=(k * step,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies)


def measure(base: str, key: str, sets: list[str], passes: int, clients: int) -> dict:
    session = requests.Session()
    for message in ("what can you do?", "what should I train on next?"):  # warm
        ask(session, base, key, message)
    tallies: dict[str, Tally] = {}
    latencies: list[float] = []
    for name in sets:
        tally = tallies[name] = Tally()
        for k in range(passes):
            for case in cases(name):
                body, ms = ask(session, base, key, case.message)
                latencies.append(ms)
                if k == 0:  # routing is deterministic: the passes only add timings
                    tally.add(case, body)
    messages = [c.message for name in sets for c in cases(name)]
    loaded = under_load(base, key, messages, clients) if clients > 1 else []
    return {"tallies": tallies, "latencies": sorted(latencies), "loaded": loaded}


def report(label: str, result: dict, clients: int, show_wrong: bool) -> None:
    print(f"== {label}")
    for name, t in result["tallies"].items():
        plain = t.n - t.ambiguous
        print(f"  {name:8s} n={t.n:3d} ({plain} plain + {t.ambiguous} ambiguous)")
        print(f"    accuracy          {rate(t.right, t.n)}")
        print(f"    asked back        {rate(t.asked, plain)} of plain questions")
        print(f"    wrong route       {rate(len(t.wrong), t.n)}   <- confidently wrong")
        if t.ambiguous:
            print(f"    ambiguous asked   {t.ambiguous_asked}/{t.ambiguous}")
        if show_wrong:
            for message, want, got in t.wrong:
                print(f"      wrong: {message!r}: want {want}, got {got}")
    lat = result["latencies"]
    print(f"  latency ms, 1 client  ({len(lat)} answers): p50 {percentile(lat, 50):.1f}  "
          f"p95 {percentile(lat, 95):.1f}  p99 {percentile(lat, 99):.1f}  "
          f"max {lat[-1]:.1f}")  # fmt: skip
    if result["loaded"]:
        lo = result["loaded"]
        print(f"  latency ms, {clients} clients ({len(lo)} answers): p50 "
              f"{percentile(lo, 50):.1f}  p95 {percentile(lo, 95):.1f}  "
              f"p99 {percentile(lo, 99):.1f}  max {lo[-1]:.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--key", default=KEY)
    parser.add_argument(
        "--sets", default="dev,heldout", help="dev,heldout,..,heldout4,tuned,terse, a held-out set"
    )
    parser.add_argument("--passes", type=int, default=2, help="sequential timing passes")
    parser.add_argument("--concurrency", type=int, default=4, help="clients of the load run")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    sets = args.sets.split(",")
    uptime = lambda: subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()  # noqa: E731
    print(f"load before: {uptime()}")
    with service(args.url, args.workers, args.threads) as base:
        result = measure(base, args.key, sets, args.passes, args.concurrency)
    report(f"this checkout ({ROOT})", result, args.concurrency, args.show_wrong)
    print(f"load after: {uptime()}")
    if args.baseline is not None:
        with service(None, args.workers, args.threads, source=args.baseline) as base:
            before = measure(base, args.key, sets, 1, 1)
        report(f"baseline ({args.baseline})", before, 1, args.show_wrong)
        for name in sets:
            new, old = result["tallies"][name], before["tallies"][name]
            print(f"  {name}: accuracy {new.right / new.n:.1%} vs {old.right / old.n:.1%} "
                  f"({new.right / max(old.right, 1):.2f}x); wrong {len(new.wrong)} vs "
                  f"{len(old.wrong)}")  # fmt: skip
    held = [t for name, t in result["tallies"].items() if name != "terse"]  # terse: apart
    ok = all(t.right / t.n >= 0.95 for t in held)
    p95 = percentile(result["latencies"], 95)
    verdict = "met" if ok and p95 <= 300 else "NOT met"
    print(f"floor (>= 95% correct on every set but terse, p95 <= 300 ms, 1 client): {verdict}")


if __name__ == "__main__":
    main()
