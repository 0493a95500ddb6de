"""Merging chunks in round order and summing a tournament up.

Per entrant: PnL per round (t-interval), the win rate of its bets (Wilson), bets per
round; per pair: the paired difference with its interval and the sequential verdict
(`sprt`); a ranking that keeps together what the tests could not separate. A pair's
verdict, once reached, never changes (it is the first crossing on a fixed prefix of
rounds), so only undecided pairs are tested again as rounds arrive.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from capabilities.tournaments.models import (
    EntrantResult,
    Interval,
    PairResult,
    TournamentResult,
    TournamentSpec,
)
from capabilities.tournaments.sprt import PairTest, SprtSettings, decide_pair
from game.evaluation import Estimate


def _interval(e: Estimate | None) -> Interval | None:
    if e is None:
        return None
    finite = [v if np.isfinite(v) else None for v in (e.mean, e.low, e.high)]
    return Interval(mean=finite[0], low=finite[1], high=finite[2])


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


class Standings:
    """Outcomes of rounds 0..rounds-1 of every entrant, merged chunk by chunk."""

    def __init__(self, spec: TournamentSpec) -> None:
        self.spec = spec
        self.names = [e.name for e in spec.entrants]
        self.kinds = {e.name: e.kind for e in spec.entrants}
        self.settings = SprtSettings(**spec.sprt.model_dump())
        self._parts: dict[str, dict[str, list[np.ndarray]]] = {
            n: {"pnl": [], "bets": [], "wins": []} for n in self.names
        }
        self.rounds = 0
        self._decided: dict[tuple[str, str], PairTest] = {}

    def add(self, outcome: dict[str, dict[str, np.ndarray]]) -> None:
        """Append the next chunk (in round order)."""
        n = len(outcome[self.names[0]]["pnl"])
        for name in self.names:
            for key, parts in self._parts[name].items():
                parts.append(np.asarray(outcome[name][key]))
                if len(parts) > 1:  # keep one array: merges are rare, reads frequent
                    parts[:] = [np.concatenate(parts)]
        self.rounds += n

    def column(self, name: str, key: str) -> np.ndarray:
        parts = self._parts[name][key]
        return parts[0] if parts else np.zeros(0)

    def pair_tests(self) -> dict[tuple[str, str], PairTest]:
        tests = {}
        for a, b in combinations(self.names, 2):
            test = self._decided.get((a, b))
            if test is None:
                test = decide_pair(self.column(a, "pnl") - self.column(b, "pnl"), self.settings)
                if test.verdict != "undecided":
                    self._decided[(a, b)] = test
            tests[(a, b)] = test
        return tests

    def all_decided(self) -> bool:
        return all(t.verdict != "undecided" for t in self.pair_tests().values())

    def result(self, *, finished: bool, rounds_per_minute: float | None = None) -> TournamentResult:
        tests = self.pair_tests()
        means = {n: float(self.column(n, "pnl").mean()) if self.rounds else 0.0
                 for n in self.names}  # fmt: skip
        order = sorted(self.names, key=lambda n: -means[n])
        better: dict[str, set[str]] = {n: set() for n in self.names}  # who beats n
        for (a, b), t in tests.items():
            if t.verdict == "a_better":
                better[b].add(a)
            elif t.verdict == "b_better":
                better[a].add(b)
        worse = {n: {m for m in self.names if n in better[m]} for n in self.names}
        entrants = []
        for rank, name in enumerate(order, start=1):
            pnl, bets = self.column(name, "pnl"), self.column(name, "bets")
            wins = self.column(name, "wins")
            entrants.append(
                EntrantResult(
                    name=name,
                    kind=self.kinds[name],
                    pnl=_interval(Estimate.of(pnl)),
                    win_rate=_interval(Estimate.proportion(int(wins.sum()), int(bets.sum()))),
                    bets_per_round=_interval(Estimate.of(bets.astype(np.float64))),
                    rank=rank,
                    rank_range=(1 + len(better[name]), len(self.names) - len(worse[name])),
                )
            )
        pairs = []
        for (a, b), t in tests.items():
            d = self.column(a, "pnl") - self.column(b, "pnl")
            sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
            effect = float(d.mean()) / sd if sd > 0 else (0.0 if len(d) and not d.any() else None)
            pairs.append(
                PairResult(
                    a=a,
                    b=b,
                    diff=_interval(Estimate.of(d)),
                    effect=effect if effect is None else _finite(effect),
                    verdict=t.verdict,
                    decided_at=t.decided_at,
                    llr=(_finite(t.llr_better), _finite(t.llr_worse)),
                )
            )
        groups: list[list[str]] = []
        for name in order:  # a new group once every member of the last one beats it
            if groups and not all(m in better[name] for m in groups[-1]):
                groups[-1].append(name)
            else:
                groups.append([name])
        decided = all(t.verdict != "undecided" for t in tests.values())
        status = "decided" if decided else ("budget_exhausted" if finished else "running")
        s = self.settings
        low, high = s.bounds
        return TournamentResult(
            rounds=self.rounds,
            status=status,
            decided_at=max((t.decided_at or 0) for t in tests.values()) if decided else None,
            entrants=entrants,
            pairs=pairs,
            ranking=groups,
            sprt={
                "h0": s.h0,
                "h1": s.h1,
                "alpha": s.alpha,
                "beta": s.beta,
                "min_rounds": s.min_rounds,
                "bounds": [low, high],
                "per_direction_alpha": s.alpha / 2,
                "fixed_size_rounds": s.fixed_rounds(),
            },
            rounds_per_minute=rounds_per_minute,
        )


def redacted(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec for display: uploaded files replaced by their size."""
    out = dict(spec)
    out["entrants"] = [
        {**e, "file": f"<{len(e['file']) * 3 // 4} bytes>"} if e.get("kind") == "sb3" else e
        for e in spec.get("entrants", [])
    ]
    return out


def play_here(spec: TournamentSpec, load_policy: Any, progress: Any = None) -> TournamentResult:
    """The tournament in this process, chunk after chunk (no jobs, no database): what
    the job does on one worker, for the command line and benches."""
    from capabilities.tournaments.entrants import build_field, play_chunk

    lineup = build_field(spec, load_policy)
    standings = Standings(spec)
    for first in range(0, spec.max_rounds, spec.chunk_rounds):
        standings.add(play_chunk(lineup, first, min(spec.chunk_rounds, spec.max_rounds - first)))
        if progress is not None:
            progress(standings.rounds)
        if standings.all_decided():
            break
    return standings.result(finished=True)
