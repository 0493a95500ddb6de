"""Routing with no language model: plain phrasings reach their intent (or, when marked
ambiguous, a clarifying question), with the service's own MiniLM."""

from __future__ import annotations

import pytest

from capabilities.chat.intents import BY_NAME, OUTSIDE, REGISTRY
from capabilities.chat.router import IntentRouter
from tests.capabilities.chat.phrasings import AMBIGUOUS, PHRASINGS, TERSE
from tools.embeddings import LocalMiniLM


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    return IntentRouter(LocalMiniLM(), REGISTRY, outside=OUTSIDE)


def test_at_least_20_intents_cover_every_capability():
    assert len(REGISTRY) >= 20
    capabilities = {i.capability for i in REGISTRY}
    assert {"coach", "analyst", "discovery", "hybrid", "knowledge", "fairness", "training",
            "curriculum", "models", "data", "jobs", "opponents", "tournaments", "meta",
            "rewards"} <= capabilities  # fmt: skip
    assert {want for _, want in PHRASINGS} <= set(BY_NAME)


def test_plain_phrasings_route_to_their_intent(router):
    assert len(PHRASINGS) >= 100
    wrong, unsure = [], []
    for message, want in PHRASINGS:
        route = router.route(message)
        if route.intent is None:
            unsure.append((message, want, route.reason))
        elif route.intent.name != want:
            wrong.append((message, want, route.intent.name))
    correct = len(PHRASINGS) - len(wrong) - len(unsure)
    assert correct / len(PHRASINGS) >= 0.95, (wrong, unsure)
    assert len(wrong) <= len(PHRASINGS) // 50, wrong  # a wrong intent is worse than asking


def test_terse_questions_are_mostly_right_and_rarely_wrong(router):
    routed = [(router.route(m).intent, want) for m, want in TERSE]
    right = sum(1 for intent, want in routed if intent is not None and intent.name == want)
    wrong = sum(1 for intent, want in routed if intent is not None and intent.name != want)
    assert right / len(TERSE) >= 0.75 and wrong / len(TERSE) <= 0.1, (right, wrong)


def test_ambiguous_or_foreign_questions_are_asked_back_not_guessed(router):
    for message, allowed in AMBIGUOUS:
        route = router.route(message)
        if route.intent is not None:
            assert route.intent.name in allowed, (message, route.intent.name)
        else:
            assert route.reason in ("low_confidence", "ambiguous")
            assert len(route.candidates) == 3
    assert router.route("banana bread recipe").reason == "low_confidence"
