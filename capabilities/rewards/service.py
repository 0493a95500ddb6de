"""The exact review of a sidebet reward: what its optimum does, what that costs, a fix.

The sidebet env is an optimal-stopping problem whose state that matters is the tick and
the open bet's age (the rug ignores the chart), so the policy a reward makes optimal is
found exactly by backward induction (`game.reward_spec.solve`) and priced in money with
the EV engine's tables (`RewardTables`: the expected profit of a bet at each tick, the
oracle's value). Every number of the answer comes from those computations.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from capabilities.engines.game_models.ev import stopping_table
from capabilities.engines.game_models.truth import TrueHazard, economics
from capabilities.rewards.models import (
    ReviewRequest,
    RewardPolicy,
    RewardProposal,
    RewardVariant,
    TermReview,
)
from game.observation import BET_START_TICK
from game.reward_spec import (
    BOT_REWARD,
    PolicyFacts,
    RewardSpec,
    RewardTables,
    Shaping,
    Terminal,
    chart_frequencies,
    money_of,
    solve,
)
from game.rules import GameRules, load_mode

NEGLIGIBLE = 1e-6  # a tick reached by fewer rounds is "in effect never"
TABLE_LOG_FLOOR = -40.0  # tables sent to clients stop where survival is below e^-40

PROOF_OBLIGATION = [
    "F(s, s') = gamma * Phi(s') - Phi(s) with gamma the learner's own discount "
    "(PPO's gamma); another gamma breaks the telescoping.",
    "Phi is a function of the env state alone (tick and the open bet's tick, which the "
    "wrapper tracks from the actions), never of the action or of the future.",
    "Phi(terminal) = 0: the step that ends a round pays -Phi(s) (the auto-reset's next "
    "observation belongs to another episode and is not s').",
    "Phi is bounded (|Phi| <= the payout multiple), so every return stays finite.",
    "Then every policy's shaped return from the first state s0 is its unshaped return "
    "minus Phi(s0), which no policy changes: the ranking of policies, hence the optimum, "
    "is unchanged (Ng, Harada and Russell, 1999). Checked here: the exact optimum with and "
    "without the shaping term is the same bet rule (`shaping_keeps_policy`).",
]


def bot_reward() -> RewardSpec:
    return RewardSpec.model_validate(BOT_REWARD)


@lru_cache(maxsize=16)
def _tables(mode: str) -> RewardTables:
    return RewardTables.of(load_mode(mode))


@lru_cache(maxsize=256)
def _solved(spec_json: str, mode: str, gamma: float) -> tuple[PolicyFacts, float]:
    spec, rules = RewardSpec.model_validate_json(spec_json), load_mode(mode)
    tables = _tables(mode)
    solution = solve(spec, rules, gamma=gamma, tables=tables, chart=_chart(spec_json, mode))
    return money_of(solution.bet, tables), solution.value


@lru_cache(maxsize=64)
def _chart(spec_json: str, mode: str) -> dict[str, np.ndarray]:
    return chart_frequencies(RewardSpec.model_validate_json(spec_json), load_mode(mode))


def optimum(spec: RewardSpec, mode: str, gamma: float) -> tuple[PolicyFacts, float]:
    """The bet rule `spec` makes optimal at `gamma` (its money facts) and its expected
    reward per round."""
    return _solved(spec.model_dump_json(), mode, gamma)


def describe(f: PolicyFacts) -> str:
    if f.first_bet_tick is None:
        return "never bets"
    if f.bet_probability < NEGLIGIBLE:
        return (
            f"bets only at tick {f.first_bet_tick}, which {f.bet_probability:.2g} of rounds "
            "reach: in effect never"
        )
    win = "" if f.win_rate is None else f", each bet winning {f.win_rate:.1%}"
    return (
        f"bets at tick {f.first_bet_tick} in every round that reaches it "
        f"({f.bet_probability:.3f} of rounds){win}"
    )


def view(f: PolicyFacts, expected_reward: float | None = None) -> RewardPolicy:
    return RewardPolicy(
        description=describe(f),
        first_bet_tick=f.first_bet_tick,
        bets_per_round=round(f.bet_probability, 9),
        win_rate=None if f.win_rate is None else round(f.win_rate, 6),
        pnl_per_round=round(f.value, 9),
        expected_reward=None if expected_reward is None else round(expected_reward, 9),
    )


@lru_cache(maxsize=16)
def true_optimum(mode: str) -> PolicyFacts:
    """The oracle's bet rule from the EV engine's stopping table (bet at t >= 200 when a
    bet now is +EV and worth at least keeping it for a later tick)."""
    rules = load_mode(mode)
    ev, wait = stopping_table(TrueHazard(rules), economics(rules), rules.max_ticks - 1)
    ticks = np.arange(rules.max_ticks)
    bet = (ticks >= BET_START_TICK) & (ev[0] > 0) & (ev[0] >= wait[0])
    return money_of(bet, _tables(mode))


def proposed_reward(gamma: float) -> RewardSpec:
    """Money paid when it is decided, in expectation, plus potential-based shaping."""
    return RewardSpec(
        name="expected profit paid at the bet, potential-shaped",
        terminal=Terminal(win=0.0, loss=0.0, skip=[]),
        paid_expected_value=1.0,
        shaping=Shaping(gamma=gamma),
    )


def money_reward(rules: GameRules, settle: str = "rug") -> RewardSpec:
    return RewardSpec(
        name=f"money at the {'rug' if settle == 'rug' else 'decision'}",
        terminal=Terminal(win=rules.sidebet_profit_multiple, loss=-1.0, settle=settle),
    )


def _lost(true: PolicyFacts, f: PolicyFacts) -> float:
    return round(true.value - f.value, 9)


def _terms(
    spec: RewardSpec, mode: str, gamma: float, true: PolicyFacts, lost: float
) -> list[TermReview]:
    rules = load_mode(mode)
    m = rules.sidebet_profit_multiple
    scale = -spec.terminal.loss if spec.terminal.loss < 0 else 1.0
    out = []

    def row(where: str, pays: float | str, money: float | str, variant: RewardSpec | None,
            note: str, invariant: bool = False, gamma_: float = gamma) -> None:  # fmt: skip
        is_money = (
            isinstance(pays, float) and isinstance(money, float) and abs(pays - money) < 1e-12
        )
        without = lost if variant is None else _lost(true, optimum(variant, mode, gamma_)[0])
        kind = "policy_invariant" if invariant else ("money" if is_money else "other")
        out.append(TermReview(term=where, pays=pays, money=money, pays_for=kind,
                              ev_lost_without=without, note=note))  # fmt: skip

    t = spec.terminal
    row("terminal.win", t.win, scale * m,
        spec.model_copy(update={"terminal": t.model_copy(update={"win": scale * m})}),
        f"a won bet returns {rules.sidebet_payout:g}x ({rules.payout_semantics}): "
        f"profit {m:g} per unit staked")  # fmt: skip
    row("terminal.loss", t.loss, -scale,
        spec.model_copy(update={"terminal": t.model_copy(update={"loss": -scale})}),
        "a lost bet forfeits its stake")  # fmt: skip
    for i, band in enumerate(t.skip):
        bands = [
            b if j != i else b.model_copy(update={"reward": 0.0}) for j, b in enumerate(t.skip)
        ]
        hi = "+" if band.max_ticks is None else f"-{band.max_ticks}"
        note = f"a round of {band.min_ticks}{hi} ticks without a bet costs nothing in money"
        if band.reward:
            note += ": this pays for betting, not for profit"
        zeroed = spec.model_copy(update={"terminal": t.model_copy(update={"skip": bands})})
        row(f"terminal.skip[{i}]", band.reward, 0.0, zeroed, note)
    for i, term in enumerate(spec.steps):
        rest = [s for j, s in enumerate(spec.steps) if j != i]
        chart = [c.field for c in term.chart_conditions]
        note = "a per-step payment that no SOL backs"
        if chart:
            note += (
                f"; it pays for chart patterns ({', '.join(chart)}), which do not predict the rug"
            )
        row(f"steps[{i}] {term.name}", term.reward, 0.0,
            spec.model_copy(update={"steps": rest}), note)  # fmt: skip
    if spec.paid_expected_value:
        row("paid_expected_value", spec.paid_expected_value, scale, None,
            "the bet's exact expected profit, paid when it is placed: money in expectation, "
            "without the outcome noise or the delay to the rug")  # fmt: skip
    if spec.shaping is not None:
        row("shaping", "gamma*Phi(s')-Phi(s)", "0 over a round (telescopes)",
            spec.model_copy(update={"shaping": None}),
            "potential-based: changes no policy's ranking if its gamma is the learner's",
            invariant=spec.shaping.gamma == gamma)  # fmt: skip
    if gamma < 1.0:
        row("discount", gamma, 1.0, spec,
            "the learner maximizes the discounted reward: a payment later in the round "
            "(a loss at the rug, a bet that waits) counts for less than money does",
            gamma_=1.0)  # fmt: skip
    return out


def review(request: ReviewRequest) -> dict:
    """The review's computed fields (the runtime adds how it was produced)."""
    spec = request.reward or bot_reward()
    mode, gamma = request.mode, request.gamma
    rules, tables = load_mode(mode), _tables(mode)
    true = true_optimum(mode)
    facts, value = optimum(spec, mode, gamma)
    lost = _lost(true, facts)
    terms = _terms(spec, mode, gamma, true, lost)
    findings = _findings(spec, mode, gamma, rules, true, facts, lost)
    proposal = _proposal(mode, gamma, true)
    answer = {
        "mode": mode,
        "gamma": gamma,
        "reward": spec,
        "true_optimum": view(true),
        "reward_optimum": view(facts, value),
        "ev_lost_per_round": lost,
        "terms": terms,
        "findings": findings,
        "proposal": proposal,
        "method": (
            "Exact backward induction over (tick, age of the open bet) with the mode's "
            "hazard: the rug ignores the chart, so no chart-reading policy beats these "
            "optima; chart-conditioned step terms enter with how often they hold at each "
            "tick over 200 simulated charts. Money: expected profit per round of betting at "
            "the rule's first tick, SOL per SOL staked (payout and window from the mode)."
        ),
    }
    if request.include_tables:
        reach = np.flatnonzero(tables.log_survival > TABLE_LOG_FLOOR)
        answer["tables"] = tables.to_json(until=int(reach[-1]) + 1)
    return answer


def _findings(
    spec: RewardSpec,
    mode: str,
    gamma: float,
    rules: GameRules,
    true: PolicyFacts,
    facts: PolicyFacts,
    lost: float,
) -> list[str]:
    out = [
        f"In {mode}, the optimum of this reward (gamma {gamma:g}) {describe(facts)}; "
        f"expected profit {facts.value:+.4f} SOL per round per SOL staked. The true "
        f"optimum {describe(true)} ({true.value:+.4f}). Following the reward costs "
        f"{lost:.4f} SOL per round."
    ]
    t = spec.terminal
    if any(b.reward for b in t.skip):
        penalties = ", ".join(
            f"{b.reward:g} for {b.min_ticks}{'+' if b.max_ticks is None else f'-{b.max_ticks}'}"
            for b in t.skip
            if b.reward
        )
        free = spec.model_copy(update={"terminal": t.model_copy(update={"skip": []})})
        text = f"The skip penalties ({penalties} ticks) pay for betting, not for profit."
        for g in dict.fromkeys((1.0, gamma)):
            penalized, unpenalized = optimum(spec, mode, g)[0], optimum(free, mode, g)[0]
            label = "As written (undiscounted)" if g == 1.0 else f"At the learner's gamma {g:g}"
            text += (
                f" {label}, with them the bot {describe(penalized)}; without them it "
                f"{describe(unpenalized)}: they cost "
                f"{unpenalized.value - penalized.value:.4f} SOL per round in {mode}"
            )
            same = unpenalized.first_bet_tick == penalized.first_bet_tick
            text += " (the discount alone already does the same)." if g < 1.0 and same else "."
        out.append(text)
    if gamma < 1.0:
        undiscounted, _ = optimum(spec, mode, 1.0)
        if undiscounted.first_bet_tick != facts.first_bet_tick:
            out.append(
                f"The discount {gamma:g} alone moves the optimum: undiscounted the reward "
                f"{describe(undiscounted)}. A payment at the rug (a loss, long after the "
                "window) or after waiting counts for less than the same SOL now."
            )
    money_now = optimum(money_reward(rules), mode, gamma)[0]
    if gamma < 1.0 and money_now.first_bet_tick != true.first_bet_tick:
        out.append(
            f"Even the money reward (win +{rules.sidebet_profit_multiple:g}, loss -1 at the "
            f"rug) {describe(money_now)} at gamma {gamma:g}, costing "
            f"{true.value - money_now.value:.4f} SOL per round: the loss is paid at the rug, "
            "later than a win, so the discount shrinks it. Paying the bet's expected profit "
            "when it is placed removes that bias."
        )
    if rules.hazard_slope == 0.0:
        tables = _tables(mode)
        p = (tables.ev[tables.bet_start_tick] + 1.0) / (tables.profit_multiple + 1.0)
        out.append(
            f"The hazard in {mode} is constant (memoryless): a bet wins with {p:.1%} "
            "whatever its tick, so no reward can raise the win rate of placed bets; a reward "
            "only changes how many are placed and so the profit per round."
        )
    elif facts.win_rate is not None and true.win_rate is not None:
        out.append(
            f"The hazard rises in {mode}, so timing changes the win rate: the reward's bets "
            f"win {facts.win_rate:.1%}, the true optimum's {true.win_rate:.1%} "
            f"({true.win_rate / facts.win_rate - 1:+.1%})."
        )
    return out


def _variant(
    name: str, spec: RewardSpec, mode: str, gamma: float, true: PolicyFacts
) -> RewardVariant:
    facts, value = optimum(spec, mode, gamma)
    return RewardVariant(name=name, reward=spec, gamma=gamma, optimum=view(facts, value),
                   ev_lost_per_round=_lost(true, facts))  # fmt: skip


def _proposal(mode: str, gamma: float, true: PolicyFacts) -> RewardProposal:
    """The corrected reward at the request's gamma if that reaches the true optimum, else
    at gamma 1 (a round is finite: 5,000 ticks at most)."""
    rules = load_mode(mode)
    at_request = optimum(proposed_reward(gamma), mode, gamma)[0]
    g = gamma if _lost(true, at_request) <= NEGLIGIBLE else 1.0
    spec = proposed_reward(g)
    facts, value = optimum(spec, mode, g)
    unshaped = optimum(spec.model_copy(update={"shaping": None}), mode, g)[0]
    variants = [
        _variant("money at the rug", money_reward(rules), mode, gamma, true),
        _variant("money when decided", money_reward(rules, "decided"), mode, gamma, true),
    ]
    if g != gamma:
        variants.append(_variant("the proposal at the request's gamma", proposed_reward(gamma),
                                 mode, gamma, true))  # fmt: skip
    return RewardProposal(
        reward=spec,
        gamma=g,
        optimum=view(facts, value),
        ev_lost_per_round=_lost(true, facts),
        shaping_keeps_policy=unshaped.first_bet_tick == facts.first_bet_tick,
        proof_obligation=PROOF_OBLIGATION,
        variants=variants,
    )
