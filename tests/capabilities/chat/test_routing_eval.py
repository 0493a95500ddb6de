"""Routing of questions written apart from the intents' examples. The earlier evaluation
sets (dev .. heldout4, other hands than the examples') are training data now, so they are
checked by cross-validation: the router fitted without one set routes that set >= 95 %
right, with few confident wrong routes. A held-out set kept in routing_eval/ is not
asserted here (evaluated once: bench/chat_routing.py), only kept apart from the examples."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities.chat.intents import BY_NAME, OUTSIDE, PHRASINGS, REGISTRY, outside, registry
from capabilities.chat.router import IntentRouter, correct, is_bare
from capabilities.chat.service import clarification
from capabilities.chat.slots import mask
from capabilities.chat.vectors import stored
from tests.capabilities.chat.routing_eval import CV_SETS, HERE, Case, load
from tools.embeddings import LocalMiniLM

SETS = CV_SETS
BLIND_MARKS = ("heldout5", "heldout6", "heldout7", "heldout8")


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return IntentRouter(LocalMiniLM(), REGISTRY, outside=OUTSIDE)


def _outcomes(router: IntentRouter, cases: list[Case]) -> tuple[int, list, list]:
    right, wrong, unsure = 0, [], []
    for case in cases:
        route = router.route(case.message)
        got = route.intent.name if route.intent else None
        if case.intent is None:
            right += got is None
            if got is not None:
                wrong.append((case.message, "(ask back)", got))
        elif got == case.intent:
            right += 1
        elif got is None:
            unsure.append((case.message, case.intent, route.reason))
        else:
            wrong.append((case.message, case.intent, got))
    return right, wrong, unsure


def test_the_eval_covers_every_intent_and_names_only_real_ones():
    for sets in (SETS[:-1], SETS[-1:]):
        cases = [c for s in sets for c in load(s)]
        plain = [c for c in cases if c.intent is not None]
        assert len(plain) >= 200 and len(cases) - len(plain) >= 20
        for name in BY_NAME:
            assert sum(c.intent == name for c in plain) >= 5, name
        assert {n for c in cases for n in (c.intent, *c.candidates) if n} <= set(BY_NAME)


def test_every_example_vector_is_stored_and_is_the_model_s():
    """Stale vectors are not wrong (a text not stored is embedded on start) but slow: the
    file is regenerated with `python -m capabilities.chat.vectors`."""
    texts = sorted({mask(e) for e in (*OUTSIDE, *(e for i in REGISTRY for e in i.examples))})
    assert not [t for t in texts if t not in stored()]
    sample = texts[:: len(texts) // 8]
    live = LocalMiniLM().embed(sample)
    kept = np.stack([stored()[t] for t in sample])
    assert np.abs(live - kept).max() < 2e-3


def test_a_held_out_set_is_no_example():
    """A set still held out (routing_eval/*.jsonl) must not leak into what the router
    learns: it is no training set, and at most a tenth of its questions are examples
    word for word (short common questions two authors write alike: "help"). Only counts
    are printed: a failure must not show the held-out questions to whoever runs it."""
    held = sorted(p.stem for p in HERE.glob("*.jsonl"))
    if not held:
        pytest.skip("no set is held out at the moment")
    assert not set(held) & {p.stem for p in PHRASINGS.glob("*.jsonl")}
    examples = {e.lower() for i in REGISTRY for e in i.examples}
    for name in held:
        cases = load(name)
        shared = sum(c.message.lower() in examples for c in cases)
        assert shared <= len(cases) // 10, f"{name}: {shared} of {len(cases)} are examples"


def test_each_set_left_out_of_the_fit_routes_at_least_95_percent_right():
    embedder = LocalMiniLM()
    right, wrong, unsure, n = 0, [], [], 0
    for left_out in SETS:
        cases = load(left_out)
        intents = registry(exclude=[left_out])
        fewer = sum(len(i.examples) for i in REGISTRY) - sum(len(i.examples) for i in intents)
        assert fewer == sum(c.intent is not None for c in cases)  # really left out
        r, w, u = _outcomes(IntentRouter(embedder, intents, outside=outside([left_out])), cases)
        right, wrong, unsure, n = right + r, wrong + w, unsure + u, n + len(cases)
    assert right / n >= 0.95, (wrong, unsure)
    assert len(wrong) / n <= 0.03, wrong  # a confident wrong answer is worse


def test_marked_ambiguous_questions_get_a_clarification_listing_likely_intents(router):
    """Asked back, offering one of the likely intents; a few of the 49 ("when do rounds
    rug", "tournament or training?") read as questions of one intent and are routed.
    Over the sets worked on: the blind sets' marks (other authors'; 9 of heldout5's 25 and
    11 of heldout6's 20 routed, many of them two questions in one; 7 and 5 since the
    two-question, order and bare-id rules, in the cross-validation, docs/chat.md; 5 of
    heldout7's 26 and 7 of heldout8's 26, each run blind) are not all worked through yet."""
    cases = [c for s in SETS if s not in BLIND_MARKS for c in load(s) if c.intent is None]
    routed = []
    for case in cases:
        route = router.route(case.message)
        if route.intent is not None:
            routed.append((case.message, route.intent.name))
            continue
        asked = clarification(route)
        assert asked.reason in ("ambiguous", "low_confidence", "order") and asked.question
        if case.candidates and asked.options:  # the likely intents, when it offers any
            offered = {o.intent for o in asked.options}
            assert offered & set(case.candidates), (case.message, offered)
    assert len(cases) >= 40 and len(routed) <= len(cases) // 15, routed


@pytest.mark.parametrize(
    ("message", "intent"),
    [("should I buy some cardano", None), ("which shares should I sell", None),
     ("should I buy in at tick 12", "coach.bet_now"), ("sell now at 2x?", "coach.sell_now")],
)  # fmt: skip
def test_questions_outside_the_game_are_asked_back_not_given_to_the_coach(router, message, intent):
    """Buying a coin or a share reads like the coach's questions; the questions outside
    the chat's scope it learned from keep it from answering them."""
    route = router.route(message)
    assert (route.intent.name if route.intent else None) == intent, route.candidates
    assert route.unlike is (intent is None)


def test_typos_are_corrected_only_towards_the_examples_and_never_for_known_words():
    vocabulary = frozenset({"should", "probability", "riding", "hold", "chat"})
    assert correct("shoud I sell? probabilty", vocabulary) == "should I sell? probability"
    # words the sentence model knows are left alone, however close to an example's
    assert correct("rising sold cheat", vocabulary) == "rising sold cheat"
    assert correct("sh0ud whale42", vocabulary) == "sh0ud whale42"  # not a plain word


@pytest.mark.parametrize(
    ("message", "bare"),
    [("sidebets", True), ("tick 300?", True), ("20250101-0123456789abcdef", True),
     ("what should I do", True), ("hi, what are you", False), ("how do sidebets work", False),
     ("cash out now? 2x", False)],
)  # fmt: skip
def test_a_bare_topic_is_told_from_a_question(message, bare):
    assert is_bare(mask(message)) is bare


@pytest.mark.parametrize(
    ("message", "intent"),
    [("was that bad", None), ("is it any good", None),  # points at something said before
     ("who's CryptoKing, the player", "opponents.profile"),
     ("list every training job", "training.runs"), ("are any jobs queued", "jobs.status"),
     ("review my exit at 2.2x on tick 140", "analyst.explain"),
     ("should I exit at 2.2x on tick 140", "coach.sell_now"),
     ("what triggers my bot to sell", "analyst.surrogate"),
     ("why did my bot sell in round 20250101-0123456789abcdef", "analyst.why"),
     ("fair?", None), ("oracle", None), ("help", "system.help"),  # one word: a topic
     ("delete all the rounds from the database", None),  # the chat only reads
     ("should i dump my eth", None), ("buy now at 1.4x?", "coach.bet_now"),
     ("what did the last discovery job find", "discovery.predictors"),
     ("are any jobs still running", "jobs.status")],
)  # fmt: skip
def test_near_neighbours_and_vague_short_questions(router, message, intent):
    """The near neighbours are told apart by the rule between them (a past decision
    reviewed vs advice now, training jobs vs the queue, a bot in general vs in a round);
    a short question about something not in the message is asked back."""
    route = router.route(message)
    assert (route.intent.name if route.intent else None) == intent, (message, route.candidates)


@pytest.mark.parametrize(
    ("message", "first", "second"),
    [("what happened in 20260111-6a7b8c9d0e1f2a3b and was it fair?", "data.round",
      "fairness.verify"),
     ("how many rounds last week and what was the avg rug tick", "data.round_count",
      "data.round_stats"),
     ("what's the rug chance at tick 150? and should I sell at 2x", "models.rug_chance",
      "coach.sell_now"),
     ("which llm are you using and what predicts the rug", "models.llm_status",
      "discovery.predictors"),
     # read whole, the message leans to the second part; the first ("it": the bot of the
     # other part) keeps its weight too
     ("why did it lose and what would the oracle have done", "analyst.why",
      "training.compare_oracle")],
)  # fmt: skip
def test_two_questions_in_one_are_asked_back_offering_both(router, message, first, second):
    """Each part a question of its own intent: answering one would drop the other."""
    route = router.route(message)
    assert route.intent is None and route.reason == "two_questions", route.candidates
    asked = clarification(route)
    assert asked.reason == "two_questions" and "two questions" in asked.question
    assert [o.intent for o in asked.options] == [first, second]
    assert all(part in asked.question for part in route.parts) and len(route.parts) == 2


@pytest.mark.parametrize(
    ("message", "intent"),
    [("How many sidebets won and how many lost yesterday?", "data.sidebets"),
     ("how many rounds today and how many yesterday", "data.round_count"),
     ("how many decisions did the bot make today and how many were overridden", "hybrid.stats"),
     ("who is moonboi and how much has he made", "opponents.profile"),
     ("progress of run 4d3c2b1a-0f9e-4d8c-b7a6-958473625140? what's the reward so far?",
      "training.run_status"),
     ("when did 20260122-0f0f0f0f1e1e1e1e rug and what was its peak", "data.round")],
)  # fmt: skip
def test_a_second_part_that_continues_the_first_question_is_one_question(router, message, intent):
    """The second part alone may read as another intent's ("how many lost yesterday" as a
    count of rounds), but the message read whole gives that intent next to nothing."""
    route = router.route(message)
    assert (route.intent.name if route.intent else None) == intent, route.candidates


@pytest.mark.parametrize(
    "message",
    ["place a 0.01 sidebet for me", "buy 0.5 SOL for me now", "sell 50% of my position",
     "can you sell for me at 2x?", "please buy 1 sol at tick 20", "restart rabbitmq",
     "Can you reboot the server?", "kill job 2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901",
     "deploy the new policy to prod", "delete all the rounds from the database",
     "can you bump the learning rate to 1e-4 and restart training",
     "could you lower the stake size on my bot", "pls retrain the policy on fast rug",
     "please increase the entropy bonus"],
)  # fmt: skip
def test_orders_are_asked_back_saying_the_chat_does_not_carry_them_out(router, message):
    route = router.route(message)
    assert route.intent is None and route.reason == "order" and route.unlike
    asked = clarification(route)
    assert asked.reason == "order" and not asked.options
    assert "cannot carry out orders" in asked.question


@pytest.mark.parametrize(
    ("message", "intent"),
    [("should I buy now at 1.2x?", "coach.bet_now"), ("sell now at 1.9x?", "coach.sell_now"),
     ("buy or wait at tick 30", "coach.bet_now"), ("would you sell at 2x here", "coach.sell_now"),
     ("buy 1 sol at tick 20?", "coach.bet_now"), ("run a tournament", "tournaments.results"),
     ("transfer learning from classic to fast rug", "meta.adapt"),
     ("could you update me on the training run", "training.run_status"),
     ("can you explain what lowers the rug chance", "models.rug_chance"),
     ("can you compare ppo-v3 with the oracle", "training.compare_oracle"),
     ("pls double check round 20251129-1212121212121212 wasnt manipulated",
      "fairness.verify")],
)  # fmt: skip
def test_questions_about_trading_and_what_the_chat_runs_are_no_orders(router, message, intent):
    """Whether to buy or sell is the coach's question, an imperative with a question mark
    included; a tournament is something the chat does run."""
    route = router.route(message)
    assert (route.intent.name if route.intent else None) == intent, route.reason


@pytest.mark.parametrize(
    ("message", "intent"),
    [("status of 4d3c2b1a-0f9e-4d8c-b7a6-958473625140", None),
     ("4d3c2b1a-0f9e-4d8c-b7a6-958473625140?", None),
     ("is 4d3c2b1a-0f9e-4d8c-b7a6-958473625140 done yet", None),
     ("status of job 4d3c2b1a-0f9e-4d8c-b7a6-958473625140", "jobs.status"),
     ("status of run 4d3c2b1a-0f9e-4d8c-b7a6-958473625140", "training.run_status"),
     ("did training run 4d3c2b1a-0f9e-4d8c-b7a6-958473625140 converge", "training.run_status"),
     ("what happened in match 4d3c2b1a-0f9e-4d8c-b7a6-958473625140", "data.round"),
     ("status of game 4d3c2b1a-0f9e-4d8c-b7a6-958473625140", "data.round")],
)  # fmt: skip
def test_a_bare_uuid_is_asked_back_offering_a_job_and_a_training_run(router, message, intent):
    """A uuid names a job or a training run alike: with no word of which, both are offered;
    named a game or a match, it is a round."""
    route = router.route(message)
    assert (route.intent.name if route.intent else None) == intent, route.candidates
    if intent is None:
        offered = {o.intent for o in clarification(route).options}
        assert offered == {"jobs.status", "training.run_status"}
