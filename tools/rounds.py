"""Round facts derived from `gameStateUpdate`s: boundaries, rug tick, peak, seeds.

Every update names its round (`gameId`), so a boundary is a change of id; what needs
care is the rug, which the feed reports as a short sequence:
- the first rugged update still has `active=true` (or, with `rugged` arriving before
  `active=false`, the flags flip one update apart); it carries the last `tickCount`,
  which is the rug tick, and the crash price, and may reveal the `serverSeed`;
- right after it an update carries the *next* `gameId`, in cooldown, possibly still with
  `rugged=true`: it says nothing about the new round's rug.
So an update is evidence of its own round's rug when `rugged` is set, its tick is at
least 1 (the rug check starts at tick 1) and it is not a cooldown update (timer > 0)
unless it reveals its round's seed. The rug tick is the smallest tick among the
evidence and the end time the earliest, which makes the result independent of the order
and number of times messages arrive; the database merges batches the same way.
Prices come only from active, unrugged updates (the rug tick gets no new price).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tools.protocol import GameHistoryEntry, GameStateUpdate, parse_time

TICK_SECONDS = 0.25  # nominal; only used to date prices known from `partialPrices`


@dataclass
class GameFacts:
    """What one batch tells about one round; `None` means not told."""

    game_id: str
    first_seen: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    rug_tick: int | None = None
    final_price: float | None = None
    peak: float | None = None
    max_tick: int | None = None
    server_seed: str | None = None
    server_seed_hash: str | None = None
    game_version: str | None = None
    first_tick: int | None = None  # the first tick the round was seen at (> 0: joined late)

    def seen_at(self, tick: int) -> None:
        if self.first_tick is None or tick < self.first_tick:
            self.first_tick = tick


@dataclass
class HistoryFacts:
    """A past round as listed in `gameHistory`: applied only to rounds we know."""

    game_id: str
    peak: float | None = None
    server_seed: str | None = None
    server_seed_hash: str | None = None


@dataclass
class RoundTracker:
    """Accumulates round facts and tick prices over a batch of updates."""

    games: dict[str, GameFacts] = field(default_factory=dict)
    ticks: dict[tuple[str, int], tuple[datetime, float]] = field(default_factory=dict)
    history: dict[str, HistoryFacts] = field(default_factory=dict)

    def touch(self, game_id: str, time: datetime) -> GameFacts:
        """The round's facts, created when first named (by any event)."""
        facts = self.games.get(game_id)
        if facts is None:
            facts = self.games[game_id] = GameFacts(game_id, time)
        elif time < facts.first_seen:
            facts.first_seen = time
        return facts

    def observe(self, update: GameStateUpdate, time: datetime) -> None:
        facts = self.touch(update.game_id, time)
        tick = update.tick_count
        fair = update.provably_fair
        if tick is not None:
            facts.seen_at(tick)
        if fair is not None and fair.get("version"):
            facts.game_version = facts.game_version or fair["version"]
        if tick is not None and self.is_rug(update):
            self._rug(facts, tick, time, update.price)
            if fair is not None:
                facts.server_seed = facts.server_seed or fair.get("serverSeed")
                facts.server_seed_hash = facts.server_seed_hash or fair.get("serverSeedHash")
        elif update.active and not update.rugged:
            if facts.started_at is None or time < facts.started_at:
                facts.started_at = time
            if fair is not None and fair.get("serverSeedHash"):
                facts.server_seed_hash = facts.server_seed_hash or fair["serverSeedHash"]
            if tick is not None and update.price is not None:
                self._price(facts, tick, time, update.price)
            if tick is not None and update.partial_prices is not None:
                for t, price in update.partial_prices.get("values", {}).items():
                    if 0 <= t < tick and (facts.game_id, t) not in self.ticks:
                        when = time - timedelta(seconds=TICK_SECONDS * (tick - t))
                        self._price(facts, t, when, price)
        for entry in update.game_history:
            if entry.prices:
                self.complete(entry, time)
                continue
            past = self.history.setdefault(entry.id, HistoryFacts(entry.id))
            if entry.peak_multiplier is not None:
                past.peak = max(past.peak or 0.0, entry.peak_multiplier)
            if entry.provably_fair is not None:
                past.server_seed = past.server_seed or entry.provably_fair.get("serverSeed")
                past.server_seed_hash = past.server_seed_hash or entry.provably_fair.get(
                    "serverSeedHash"
                )

    def complete(self, entry: GameHistoryEntry, time: datetime) -> None:
        """A complete round from its `gameHistory` record (`prices`: ticks 0..rug-1, then
        the rug price, unless `rugged` is false): every tick, the rug, seeds, version.
        Ticks are dated back from the record's timestamp (its end) at the nominal pace."""
        prices = entry.prices or []
        ended = (parse_time(entry.timestamp) if entry.timestamp is not None else None) or time
        rugged = entry.rugged is not False and len(prices) >= 2
        rug = len(prices) - 1 if rugged else len(prices)
        facts = self.touch(entry.id, ended)
        facts.seen_at(0)
        started = ended - timedelta(seconds=TICK_SECONDS * rug)
        if facts.started_at is None or started < facts.started_at:
            facts.started_at = started
        if rugged:
            self._rug(facts, rug, ended, prices[-1])
        for t in range(rug):
            self._price(facts, t, started + timedelta(seconds=TICK_SECONDS * t), prices[t])
        if entry.peak_multiplier is not None:
            facts.peak = max(facts.peak or 0.0, entry.peak_multiplier)
        fair = entry.provably_fair or {}
        facts.server_seed = facts.server_seed or fair.get("serverSeed")
        facts.server_seed_hash = facts.server_seed_hash or fair.get("serverSeedHash")
        facts.game_version = facts.game_version or entry.game_version or fair.get("version")

    def observe_tick(
        self,
        game_id: str,
        tick: int,
        price: float,
        time: datetime,
        *,
        active: bool,
        rugged: bool,
    ) -> None:
        """One per-tick observation (a REPLAYER line): the first rugged tick is the rug
        (its price the crash price); prices come from active ticks and tick 0."""
        facts = self.touch(game_id, time)
        facts.seen_at(tick)
        if rugged:
            if tick >= 1:
                self._rug(facts, tick, time, price)
            return
        if active or tick == 0:
            if active and (facts.started_at is None or time < facts.started_at):
                facts.started_at = time
            self._price(facts, tick, time, price)

    @staticmethod
    def _rug(facts: GameFacts, tick: int, time: datetime, price: float | None) -> None:
        if facts.rug_tick is None or (tick, time) < (facts.rug_tick, facts.ended_at):
            facts.rug_tick, facts.ended_at, facts.final_price = tick, time, price

    @staticmethod
    def is_rug(update: GameStateUpdate) -> bool:
        """Whether this update reports its own round's rug (see the module docstring)."""
        if not update.rugged or update.tick_count is None or update.tick_count < 1:
            return False
        revealed = update.provably_fair is not None and bool(update.provably_fair.get("serverSeed"))
        in_cooldown = bool(update.cooldown_timer and update.cooldown_timer > 0)
        return revealed or not in_cooldown

    def _price(self, facts: GameFacts, tick: int, time: datetime, price: float) -> None:
        key = (facts.game_id, tick)
        seen = self.ticks.get(key)
        if seen is None or time < seen[0]:
            self.ticks[key] = (time, price)
        facts.peak = price if facts.peak is None else max(facts.peak, price)
        facts.max_tick = tick if facts.max_tick is None else max(facts.max_tick, tick)
