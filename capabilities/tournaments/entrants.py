"""Entrants made runnable, and one chunk of rounds played by all of them.

Every entrant plays the same rounds (common random numbers): a chunk simulates rounds
`first .. first + n - 1` of the tournament's seed once, and each entrant's outcome per
round is (PnL in SOL, bets placed, bets won). Players do not move the price, so this is
exactly a pairing of every two entrants on each seed.

Sidebet policies (archetypes, PPO, hybrid, oracle) play the bot's `SidebetV1Env`: one
sidebet of 1 SOL a round, from tick 200. All of them are asked once, in one batch,
about every tick they could bet at (`game.observation.bet_observations`); a policy's
bet is its first BET (as `game.harness`). PPO networks run as batched numpy matmuls; the
hybrid is the RL action looked up in a (tick, RL action) table of the hybrid's
decisions, built once per process. Persona entrants are simulated players
(`game.personas`), all at one table; a bet of theirs is a sidebet or a round with
trades (won: the sidebet won, or the round's trading PnL was positive). A copy trader
follows the best persona entrant of the round before (that round is simulated again at
the start of a chunk, so chunks need not run in order).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from capabilities.tournaments.models import (
    ARCHETYPES,
    ArchetypeEntrant,
    HybridEntrant,
    PersonaEntrant,
    TournamentSpec,
)
from game import bots
from game.bots import BET
from game.observation import BET_START_TICK, COLUMN, bet_observations
from game.oracle import Oracle
from game.personas import Player, make_players, simulate_players
from game.policy_net import NetPolicy
from game.rules import GameRules, load_mode
from game.sidebets import NO_BET, default_stake, sidebet_pnl, sidebet_won
from game.simulator import Rounds, round_keys, simulate_keys, simulate_rounds
from tools.postgres import Database

Outcome = dict[str, np.ndarray]  # "pnl", "bets", "wins": one value per round
HYBRID_TRAIN_SEED, HYBRID_TRAIN_ROUNDS = 7, 2000


def _archetype(entrant: ArchetypeEntrant) -> Any:
    params: dict[str, Any] = {
        k: int(v) if k == "min_tick" else v for k, v in entrant.params.items()
    }
    return ARCHETYPES[entrant.archetype](name=entrant.name, **params)


@functools.lru_cache(maxsize=8)
def _hybrid_models(mode: str, source: str) -> Any:
    from capabilities.engines.game_models.registry import fit_model_set, rules_model_set

    if source == "rules":
        return rules_model_set(mode)
    train = simulate_rounds(load_mode(mode), HYBRID_TRAIN_ROUNDS, HYBRID_TRAIN_SEED)
    return fit_model_set(mode, train.rug_tick, train.prices, f"train-{HYBRID_TRAIN_SEED}")


class HybridTable:
    """The hybrid over an RL policy, batched: decisions depend on (tick, RL action) only,
    so each pair is decided once (`capabilities.hybrid.bots.HybridBot`) and looked up."""

    def __init__(self, entrant: HybridEntrant, rl: Any, mode: str) -> None:
        from capabilities.hybrid.policy import Thresholds

        ints = {f.name for f in fields(Thresholds) if f.type in ("int", int)}
        values = {k: int(v) if k in ints else v for k, v in entrant.thresholds.items()}
        self.name, self.rl, self._mode, self._models = entrant.name, rl, mode, entrant.models
        self._thresholds = Thresholds(**values)
        self._bot: Any = None  # built on first use: fitting models takes seconds
        self._table = np.full((0, 2), -1, dtype=np.int8)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        if self._bot is None:
            from capabilities.hybrid.bots import HybridBot

            models = _hybrid_models(self._mode, self._models)
            self._bot = HybridBot(self.rl, models, self._thresholds)
        tick = obs[:, COLUMN["tick"]].astype(np.int64)
        rl = np.asarray(self.rl.act_batch(obs), dtype=np.int64)
        if tick.size and tick.max() >= len(self._table):
            grown = np.full((int(tick.max()) + 1, 2), -1, dtype=np.int8)
            grown[: len(self._table)] = self._table
            self._table = grown
        unknown = self._table[tick, rl] < 0
        for t, a in np.unique(np.stack([tick[unknown], rl[unknown]], axis=1), axis=0):
            self._table[t, a] = self._bot.decision(int(t), int(a)).action == "sidebet"
        return self._table[tick, rl].astype(np.int64)


def _persona_player(entrant: PersonaEntrant, index: int, seed: int) -> Player:
    """The persona with the given parameters, the others drawn (per entrant and seed)."""
    drawn = make_players(1, seed + 7919 * (index + 1), [entrant.persona])[0]
    return Player(
        player_id=f"entrant:{entrant.name}",
        username=entrant.name,
        level=1,
        persona=entrant.persona,
        params={**drawn.params, **entrant.params},
    )


@dataclass
class Lineup:
    """The runnable tournament: sidebet policies and persona players, in entrant order."""

    rules: GameRules
    seed: int
    names: list[str]
    kinds: list[str]
    policies: dict[str, Any]
    personas: list[tuple[str, Player]]


PolicyLoader = Callable[[str, int], Any]


def store_loader(database: Database | None) -> PolicyLoader:
    """Loads policy ids from the store, 422/404 naming the entrant's field."""
    from tools.policy_store import parse_policy_id, policy_store

    def load(policy_id: str, index: int) -> Any:
        pid = parse_policy_id(policy_id, f"entrants[{index}].policy_id")
        return policy_store(database).load(pid)

    return load


def build_field(spec: TournamentSpec, load_policy: PolicyLoader) -> Lineup:
    """Every entrant ready to play (422 naming the one that cannot be)."""
    rules = load_mode(spec.mode)
    policies: dict[str, Any] = {}
    personas: list[tuple[str, Player]] = []
    for i, e in enumerate(spec.entrants):
        if e.kind == "archetype":
            policies[e.name] = _archetype(e)
        elif e.kind == "persona":
            personas.append((e.name, _persona_player(e, i, spec.seed)))
        elif e.kind == "policy":
            policies[e.name] = _renamed(load_policy(e.policy_id, i), e.name)
        elif e.kind == "sb3":
            policies[e.name] = NetPolicy(e.network(), e.name)
        elif e.kind == "hybrid":
            policies[e.name] = HybridTable(e, load_policy(e.policy_id, i), spec.mode)
        elif e.kind == "oracle":
            policies[e.name] = Oracle(rules, name=e.name)
    return Lineup(
        rules=rules,
        seed=spec.seed,
        names=[e.name for e in spec.entrants],
        kinds=[e.kind for e in spec.entrants],
        policies=policies,
        personas=personas,
    )


def _renamed(policy: Any, name: str) -> Any:
    return NetPolicy(policy.net, name) if isinstance(policy, NetPolicy) else policy


def first_bets(policies: dict[str, Any], rounds: Rounds) -> dict[str, np.ndarray]:
    """Each sidebet policy's bet tick per round (`NO_BET` if none), in one batch each."""
    obs, row, tick = bet_observations(rounds.prices, rounds.rug_tick, BET_START_TICK)
    n = len(rounds)
    out = {}
    for name, policy in policies.items():
        if isinstance(policy, bots.RandomBot):  # a stream per (entrant, chunk): reproducible
            key = f"{name}:{rounds.seed}:{rounds.first_round}".encode()
            seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
            policy = bots.RandomBot(policy.p, seed=seed, name=name)
        chosen = np.asarray(policy.act_batch(obs)) == BET if len(obs) else np.zeros(0, bool)
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, row[chosen], tick[chosen])
        out[name] = np.where(first == np.iinfo(np.int64).max, NO_BET, first)
    return out


def play_chunk(field: Lineup, first_round: int, n_rounds: int) -> dict[str, Outcome]:
    """Every entrant's outcome on rounds first_round .. first_round + n_rounds - 1."""
    rules = field.rules
    warm = 1 if field.personas and first_round > 0 else 0
    rounds = _simulate(rules, field.seed, first_round - warm, n_rounds + warm)
    out: dict[str, Outcome] = {}
    if field.policies:
        played = _slice(rounds, warm) if warm else rounds
        stake = default_stake(rules)
        for name, bet in first_bets(field.policies, played).items():
            placed = bet != NO_BET
            won = placed & sidebet_won(rules, bet, played.rug_tick)
            out[name] = {
                "pnl": sidebet_pnl(rules, bet, played.rug_tick, stake),
                "bets": placed.astype(np.int16),
                "wins": won.astype(np.int16),
            }
    if field.personas:
        pnl, bets, wins = _personas(field, rounds)
        for j, (name, _) in enumerate(field.personas):
            out[name] = {"pnl": pnl[warm:, j], "bets": bets[warm:, j], "wins": wins[warm:, j]}
    return {name: out[name] for name in field.names}


def _simulate(rules: GameRules, seed: int, first_round: int, n_rounds: int) -> Rounds:
    """`simulate_rounds` without the game ids (a hash per round nobody here reads)."""
    indices = np.arange(first_round, first_round + n_rounds)
    prices, rug_tick, big_move, god_candle = simulate_keys(rules, round_keys(seed, indices))
    return Rounds(prices, rug_tick, big_move, god_candle, [], seed, first_round, rules.name)


def _personas(
    field: Lineup, rounds: Rounds, block: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(PnL, bets, wins) [rounds, persona entrants], simulated in blocks of consecutive
    rounds (each block's price matrix only as wide as its longest round), the leader a
    copy trader follows carried from block to block."""
    players = [p for _, p in field.personas]
    shape = (len(rounds), len(players))
    pnl, bets, wins = np.zeros(shape), np.zeros(shape, np.int16), np.zeros(shape, np.int16)
    leader = None
    for start in range(0, len(rounds), block):
        part = _slice(rounds, start, start + block)
        activity = simulate_players(field.rules, part, players, seed=field.seed, leader=leader)
        leader = activity.leader
        rows = slice(start, start + len(part))
        sb, trades = activity.sidebets, activity.trades
        side_pnl = np.zeros((len(part), len(players)))
        np.add.at(bets[rows], (sb.row, sb.player), 1)
        np.add.at(wins[rows], (sb.row, sb.player), sb.won.astype(np.int16))
        np.add.at(side_pnl, (sb.row, sb.player), sb.profit)
        traded = np.zeros((len(part), len(players)), dtype=bool)
        traded[trades.row, trades.player] = True
        bets[rows] += traded
        wins[rows] += traded & (activity.pnl - side_pnl > 1e-12)
        pnl[rows] = activity.pnl
    return pnl, bets, wins


def _slice(rounds: Rounds, start: int, stop: int | None = None) -> Rounds:
    """Rows start..stop-1 of `rounds`, the price matrices cut to their longest round."""
    rug = rounds.rug_tick[start:stop]
    width = int(rug.max()) if len(rug) else 1
    return Rounds(
        prices=rounds.prices[start:stop, :width],
        rug_tick=rug,
        big_move=rounds.big_move[start:stop, :width],
        god_candle=rounds.god_candle[start:stop, :width],
        game_ids=rounds.game_ids[start:stop],
        seed=rounds.seed,
        first_round=rounds.first_round + start,
        mode=rounds.mode,
    )
