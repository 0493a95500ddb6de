"""Intent routing by similarity to example phrasings, with the service's own sentence
model (all-MiniLM-L6-v2, tools/minilm.py): no language model, a few milliseconds.

Every example of every intent is embedded once per process. A message (ids masked,
`slots.mask`) is embedded and compared by cosine with each example; an intent scores its
best example. The route is taken only when the best intent scores at least `threshold`
AND leads the runner-up by at least `margin`; otherwise the answer is a clarifying
question listing the likely intents: never a guess.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from capabilities.chat.intent import Intent
from capabilities.chat.slots import Slots, extract, mask
from tools.embeddings import Embedder

DEFAULT_THRESHOLD = 0.45
DEFAULT_MARGIN = 0.02
CANDIDATES = 3
# example vectors per (embedder, examples): every app of a process (tests build many)
# shares one matrix instead of embedding the examples again
_VECTORS: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
_VECTORS_LOCK = threading.Lock()
EXPECT_PENALTY = 0.08  # an intent about one thing (a round) asked without naming it
EXPECT_BONUS = 0.08  # ... and asked naming it
KEYWORD_BONUS = 0.12  # a word only one intent's questions use ("oracle", "tournament")
CUE_BONUS = 0.05  # per matching cue of an intent, at most MAX_CUES counted
MAX_CUES = 2


@dataclass(frozen=True)
class Route:
    """The routing of one message: the intent when confident, and the likely ones."""

    intent: Intent | None
    confidence: float
    candidates: tuple[tuple[Intent, float], ...]
    reason: str | None = None  # low_confidence | ambiguous, when intent is None
    scores: dict[str, float] = field(default_factory=dict)  # every intent's score


class IntentRouter:
    """Thread-safe; the example matrix is built on first use (or by `load`)."""

    def __init__(
        self,
        embedder: Embedder,
        intents: Sequence[Intent],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self._embedder = embedder
        self._intents = tuple(intents)
        self.threshold = threshold
        self.margin = margin
        self._cues = [[re.compile(c, re.IGNORECASE) for c in i.cues] for i in self._intents]
        self._keywords = [
            re.compile(i.keyword, re.IGNORECASE) if i.keyword else None for i in self._intents
        ]
        self._matrix: np.ndarray | None = None
        self._owner: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def intents(self) -> tuple[Intent, ...]:
        return self._intents

    def load(self) -> None:
        with self._lock:
            if self._matrix is None:
                texts = tuple(mask(e) for i in self._intents for e in i.examples)
                owner = [k for k, i in enumerate(self._intents) for _ in i.examples]
                key = (f"{type(self._embedder).__name__}:{getattr(self._embedder, 'name', '')}",
                       texts)  # fmt: skip
                with _VECTORS_LOCK:
                    matrix = _VECTORS.get(key)
                    if matrix is None:
                        matrix = _VECTORS[key] = np.asarray(
                            self._embedder.embed(list(texts)), dtype=np.float32
                        )
                self._matrix = matrix
                self._owner = np.asarray(owner)

    def scores(self, message: str, slots: Slots | None = None) -> np.ndarray:
        """Each intent's score for the message: its best example's cosine similarity,
        plus CUE_BONUS for each of its cues the message contains (up to MAX_CUES) and
        KEYWORD_BONUS for its keyword, plus EXPECT_BONUS when it names the slot the
        intent expects (EXPECT_PENALTY less when it does not, or names one it avoids)."""
        slots = slots if slots is not None else extract(message)
        self.load()
        assert self._matrix is not None and self._owner is not None
        vector = np.asarray(self._embedder.embed([mask(message)]), dtype=np.float32)[0]
        sims = self._matrix @ vector
        best = np.full(len(self._intents), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owner, sims)
        for k, cues in enumerate(self._cues):
            hits = sum(1 for c in cues if c.search(message))
            best[k] += CUE_BONUS * min(hits, MAX_CUES)
            keyword = self._keywords[k]
            if keyword is not None and keyword.search(message):
                best[k] += KEYWORD_BONUS
            expected = self._intents[k].expects
            if expected is not None:
                named = getattr(slots, expected) is not None
                best[k] += EXPECT_BONUS if named else -EXPECT_PENALTY
            avoided = self._intents[k].avoids
            if avoided is not None and getattr(slots, avoided) is not None:
                best[k] -= EXPECT_PENALTY
        return best

    def route(self, message: str, slots: Slots | None = None) -> Route:
        scores = self.scores(message, slots)
        order = np.argsort(-scores)
        top, runner_up = float(scores[order[0]]), float(scores[order[1]])
        # reported as similarities: cues can lift a score past a perfect match
        np.minimum(scores, 1.0, out=scores)
        ranked = tuple((self._intents[k], float(scores[k])) for k in order[:CANDIDATES])
        every = {i.name: float(s) for i, s in zip(self._intents, scores, strict=True)}
        if top < self.threshold:
            return Route(None, ranked[0][1], ranked, "low_confidence", every)
        if top - runner_up < self.margin:
            return Route(None, ranked[0][1], ranked, "ambiguous", every)
        return Route(ranked[0][0], ranked[0][1], ranked, None, every)
