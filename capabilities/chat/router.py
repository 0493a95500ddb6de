"""Intent routing with no language model: a small classifier over the service's own
sentence model (all-MiniLM-L6-v2, tools/minilm.py) and the question's words, plus the
intents' cue words and the slots the question names. Deterministic, a few milliseconds.

Why a classifier and not only the nearest example: the best single example's cosine
overfits the examples' wording (98 % on phrasings it was tuned on, 68-86 % on phrasings
written later). A multinomial logistic regression fitted on every example's embedding
and its words (tf-idf of stems and stem pairs, and of character 3-4-grams, which
survive typos and slang) weighs what the examples of an intent share instead of the one
that happens to be closest.

A message (ids and names masked, `slots.mask`) is scored by each intent as
    log p(intent | embedding, stems)  +  lexical evidence (cues, keyword, expected slot)
and the scores are turned into probabilities (softmax): the `confidence`. The route is
taken only when
  - the message is a question, not a bare topic ("sidebet", "tick 300?", a round id: at
    most BARE_WORDS words, or only function words; unless an intent's keyword names it
    in two words or more, or is a whole request by itself, as "help" is);
  - it is no order ("delete all the rounds", "place a sidebet for me", "restart rabbitmq":
    the chat answers questions, it does not trade or change anything) and names no asset
    outside the game ("should I sell my eth");
  - it gives no id alone that several intents look up ("status of <uuid>": a job or a
    training run? both are offered);
  - something in the examples is like it (best example cosine plus the lexical bonus
    at least `floor`: "banana bread" is like nothing);
  - the top intent's probability is at least `threshold` and leads the runner-up's by
    at least `margin`.
  - it is not two questions of different intents in one ("what happened in <round> and
    was it fair?"): each part routed alone, weighed against the message read whole
    (`_two_questions`); the clarifying question then offers both.
Otherwise the answer is a clarifying question listing the likely intents: never a guess.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from capabilities.chat.intent import Intent
from capabilities.chat.slots import ELSEWHERE, Slots, extract, known_words, mask, one_edit
from capabilities.chat.vectors import embed_examples
from tools.embeddings import Embedder

DEFAULT_THRESHOLD = 0.45  # the top intent's probability
DEFAULT_MARGIN = 0.10  # ... over the runner-up's
DEFAULT_FLOOR = 0.45  # best example cosine (plus SIMILARITY_PER_UNIT x lexical units)
CANDIDATES = 3
BARE_WORDS = 2  # a message of at most this many words names a topic only
SHORT_WORDS = 4  # "was that bad", "when do rounds rug": a question, but a vague one ...
SHORT_THRESHOLD = 0.75  # ... routed only this sure when it names no value and no keyword
# "was that bad", "is it good": a short question about something said before, not here
_DEICTIC = re.compile(r"\b(that|it|this|those|these|then)\b")
# "what about tick 200", "and in classic?": a short follow-up; with no turn before it (the
# service reuses the last turn's intent when there is one) it says too little to route
_FOLLOWS_ON = re.compile(r"^\W*(and|also|what about|how about|same)\b", re.IGNORECASE)
# a request to change stored data: the chat only reads ("delete all the rounds from the
# database"), so it is asked back as outside what it answers, never routed to a reader
_WRITES = re.compile(
    r"\b(delete|erase|wipe|truncate|purge)\b|\bdrop (the |all |every )?(tables?|database|db|"
    r"rounds|data)\b|\b(insert|update|remove|change|modify|edit|alter)\b.*\b(database|"
    r"tables?|db|rows?)\b",
    re.IGNORECASE,
)
# an order the chat cannot carry out: it answers questions, it does not trade, run the
# service or change anything. A polite request ("please ...", "can you ...") or a bare
# imperative of an operation ("restart rabbitmq", "kill job X", "set my leverage"); a
# trade asked for "for me", or a bare imperative trade naming an amount with no question
# mark ("sell 50% of my position"). "sell now at 1.9x?", "buy or wait", "would you sell
# here" are questions for the coach.
_REQUEST = r"^\W*(?:(?:hey|yo|ok(?:ay)?|now|so)\W+)?"
_POLITE = (r"(?:please\s+|pls\s+|plz\s+|kindly\s+|(?:can|could|will) you\s+(?:please\s+)?|"
           r"i(?:'d| would) like you to\s+|go ahead and\s+)")  # fmt: skip
_TRADE = (r"(?:buy|sell|short|long|place|put|open|close|exit|enter|ape|dump|stake|bet|sidebet|"
          r"trade|execute|submit|cash out|take profits?)")  # fmt: skip
_OPERATE = (r"(?:restart|reboot|deploy|kill|stop|shut ?down|cancel|abort|rename|reset|upgrade|"
            r"install|uninstall|e?mail|send|add|create|set|change|modify|configure|enable|"
            r"disable|pause|resume|terminate|withdraw|deposit|drop)")  # fmt: skip
# ... and, asked for politely ("can you bump the learning rate ..."), a verb that changes
# state; "can you tell/show/explain/check/compare ..." stays a question, as does a verb
# about the asker ("could you update me on the run")
_CHANGE = (r"(?:bump|raise|lower|increase|decrease|reduce|halve|tweak|adjust|tune|update|"
           r"re-?train|revert|roll ?back|remove|clear|flush|switch|turn (?:on|off))")  # fmt: skip
_ORDERS = re.compile(
    "|".join((
        rf"{_REQUEST}{_POLITE}*{_OPERATE}\b(?!\s+(?:of|in|over|since|between)\b)",  # not a noun
        rf"{_REQUEST}{_POLITE}+{_TRADE}\b",
        rf"{_REQUEST}{_POLITE}+{_CHANGE}\b(?!\s+(?:me|us)\b)(?=\s+\w)",
        rf"\b{_TRADE}\b[^?]*\b(?:for (?:me|us)|on my behalf)\b(?!\s+to\b)",
        rf"{_REQUEST}{_TRADE}\b(?=[^?]*(?:\d\s*(?:sol\b|%)|\b(?:half|all|everything|order)\b))"
        r"(?![^?]*\bor\b)[^?]*$",
    )),
    re.IGNORECASE,
)  # fmt: skip
# two questions in one: split where a question mark, ";", or "and"/"also"/"plus" before a
# question word ends one question; the part after it must read as a question itself
_QUESTION_WORD = (r"(?:what|how|who|whom|whose|why|when|where|which|is|was|are|were|should|"
                  r"shall|will|would|does|did|do|can|could|has|have|had|am)\b")  # fmt: skip
_JOINS = re.compile(rf"\?+\s+(?=\S)|;\s*|,?\s+(?:and|also|plus)\s+(?={_QUESTION_WORD})",
                    re.IGNORECASE)  # fmt: skip
_CONNECTIVE = re.compile(r"^\W*(?:(?:and|also|plus|so|then)\b\W*)+", re.IGNORECASE)
_ASKS = re.compile(rf"^\W*{_QUESTION_WORD}", re.IGNORECASE)
# ... and a second question only when the message read whole still gives the second
# part's intent this much: a part that only continues the first question ("how many
# sidebets won and how many lost") reads, in the whole, as the first intent's (0.00-0.01
# in the cross-validation), a second question 0.36-1.0; 0.05 is between them (log scale)
SECOND_WEIGHT = 0.05
# lexical evidence, in log-odds units added to the classifier's log-probabilities
CUE = 1.0  # per matching cue of an intent, at most MAX_CUES counted
MAX_CUES = 2
KEYWORD = 2.4  # a word only one intent's questions use ("oracle", "tournament")
EXPECT = 1.6  # names the slot the intent expects (less when it does not, or names one avoided)
SIMILARITY_PER_UNIT = 0.05  # the same evidence, as cosine, for the floor
STEM_WEIGHT = 0.5  # the stems' columns against the unit-length embedding's
CHAR_WEIGHT = 0.5  # character 3-4-grams: "trainig", "rnds", "sidebt" still share most
REGULARIZATION_C = 100.0  # examples are few and clean: a light L2 penalty
_STOP = frozenset((
    "a", "an", "and", "any", "are", "at", "be", "can", "could", "did", "do", "does", "for",
    "from", "have", "how", "i", "i'm", "if", "in", "is", "it", "its", "me", "my", "of", "on",
    "or", "please", "pls", "right", "rn", "should", "so", "that", "the", "this", "to", "was",
    "we", "what", "whats", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your", "yes", "no", "now", "ok", "okay", "hey", "hi",
))  # fmt: skip
# the words around an id that say nothing of what it is ("status of <uuid>", "<uuid>?")
_ID_ONLY = _STOP | frozenset((
    "status", "state", "progress", "info", "details", "update", "check", "show", "look",
    "up", "about", "going", "doing", "done", "finished", "running", "there", "yet", "still",
    "tell", "give", "get", "hows", "how's", "what's", "id", "uuid", "plz", "news",
))  # fmt: skip
_WORD = re.compile(r"[a-z][a-z0-9']+")
_SUFFIXES = ("ing", "ed", "es", "s")
# fitted models per (embedder, examples): every app of a process (tests build many)
# shares one fit instead of embedding the examples again
_FITTED: dict[tuple[str, tuple[str, ...], tuple[int, ...]], _Fitted] = {}
_FITTED_LOCK = threading.Lock()


def _stem(word: str) -> str:
    """A crude stem: enough for "runs"/"run", "selling"/"sell" to meet."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _stems(masked: str) -> list[str]:
    """Stems and consecutive stem pairs of a masked message (the tf-idf's terms)."""
    words = [_stem(w) for w in _WORD.findall(masked.lower())]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def is_bare(masked: str) -> bool:
    """A topic, not a question: at most BARE_WORDS words ("sidebets", "tick 300?", a round
    id alone), or only function words ("what should I do")."""
    words = _WORD.findall(masked.lower())
    addressed = "you" in words or "your" in words  # "hi, what are you": about the chat
    return len(words) <= BARE_WORDS or (all(w in _STOP for w in words) and not addressed)


def is_vague(masked: str, said: Slots) -> bool:
    """A short question that names no value ("was that bad", "what about my bot"): its
    few words fit several intents, so it is routed only when the classifier is very sure.
    `said` are the slots of the message itself (not the conversation's defaults)."""
    return len(_WORD.findall(masked.lower())) <= SHORT_WORDS and not said.filled()


TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours to correct safely


def correct(message: str, vocabulary: frozenset[str]) -> str:
    """The message with each word the sentence model does not know that is one edit from
    exactly one word of the examples replaced by it ("shoud" -> "should", "probabilty"
    -> "probability"): a typo otherwise splits into word pieces the model has not seen
    together."""
    known = known_words()

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        if len(lowered) < TYPO_MIN_LENGTH or lowered in vocabulary or lowered in known:
            return word
        near = one_edit(lowered) & vocabulary
        return near.pop() if len(near) == 1 else word

    return re.sub(r"\b[A-Za-z]+\b", fix, message)


@dataclass(frozen=True)
class _Fitted:
    """The examples' vectors, the stem vocabulary and the classifier fitted on both."""

    matrix: np.ndarray  # (examples, dim) unit-length embeddings
    owner: np.ndarray  # the intent index of each example
    stems: TfidfVectorizer
    chars: TfidfVectorizer
    classifier: LogisticRegression
    vocabulary: frozenset[str]  # the examples' words (typos are corrected towards them)

    def features(self, vectors: np.ndarray, masked: Sequence[str]) -> np.ndarray:
        words = self.stems.transform(list(masked)).toarray().astype(np.float32)
        chars = self.chars.transform(list(masked)).toarray().astype(np.float32)
        return np.hstack([vectors, STEM_WEIGHT * words, CHAR_WEIGHT * chars])


def _fit(vectors: np.ndarray, owner: np.ndarray, masked: Sequence[str]) -> _Fitted:
    """On one BLAS thread: on a busy 2-core host threads made the fit 7x slower."""
    stems = TfidfVectorizer(analyzer=_stems, sublinear_tf=True).fit(masked)
    vocabulary = frozenset(w for text in masked for w in re.findall(r"[a-z]+", text.lower()))
    classifier = LogisticRegression(C=REGULARIZATION_C, max_iter=5000)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True).fit(masked)
    fitted = _Fitted(vectors, owner, stems, chars, classifier, vocabulary)
    with threadpool_limits(1):
        fitted.classifier.fit(fitted.features(vectors, masked), owner)
    return fitted


@dataclass(frozen=True)
class Route:
    """The routing of one message: the intent when confident, and the likely ones."""

    intent: Intent | None
    confidence: float  # the top intent's probability
    candidates: tuple[tuple[Intent, float], ...]
    # when intent is None: low_confidence | ambiguous | two_questions | order (the chat
    # cannot carry it out: a trade, an operation, a change to stored data)
    reason: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # every intent's probability
    similarity: float = 0.0  # the best example's cosine plus the lexical bonus
    unlike: bool = False  # below the floor: like nothing the chat answers
    parts: tuple[str, ...] = ()  # the two questions of one message (two_questions)


class IntentRouter:
    """Thread-safe; the examples are embedded and the classifier fitted on first use (or
    by `load`), once per process for the same examples."""

    def __init__(
        self,
        embedder: Embedder,
        intents: Sequence[Intent],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        margin: float = DEFAULT_MARGIN,
        floor: float = DEFAULT_FLOOR,
        outside: Sequence[str] = (),
    ) -> None:
        self._embedder = embedder
        self._intents = tuple(intents)
        self._outside = tuple(outside)  # examples of questions the chat does not answer
        self.threshold = threshold
        self.margin = margin
        self.floor = floor
        self._cues = [[re.compile(c, re.IGNORECASE) for c in i.cues] for i in self._intents]
        self._keywords = [
            re.compile(i.keyword, re.IGNORECASE) if i.keyword else None for i in self._intents
        ]
        # the slots several intents look up by id (`_which_id`), with those intents
        self._lookups: dict[str, list[Intent]] = {}
        for i in self._intents:
            if i.looks_up:
                self._lookups.setdefault(i.looks_up, []).append(i)
        self._fitted: _Fitted | None = None
        self._lock = threading.Lock()

    @property
    def intents(self) -> tuple[Intent, ...]:
        return self._intents

    def load(self) -> None:
        with self._lock:
            if self._fitted is not None:
                return
            texts = tuple(mask(e) for i in self._intents for e in i.examples)
            owner = tuple(k for k, i in enumerate(self._intents) for _ in i.examples)
            texts += tuple(mask(e) for e in self._outside)  # one more class, the last
            owner += (len(self._intents),) * len(self._outside)
            key = (f"{type(self._embedder).__name__}:{getattr(self._embedder, 'name', '')}",
                   texts, owner)  # fmt: skip
            with _FITTED_LOCK:
                fitted = _FITTED.get(key)
                if fitted is None:
                    vectors = embed_examples(self._embedder, texts)
                    fitted = _FITTED[key] = _fit(vectors, np.asarray(owner), texts)
            self._fitted = fitted

    def lexical(self, message: str, slots: Slots) -> np.ndarray:
        """Each intent's lexical evidence in log-odds units: CUE per matching cue (up to
        MAX_CUES), KEYWORD for its keyword, +-EXPECT for the slot it expects named or
        not, -EXPECT for a slot it avoids named."""
        units = np.zeros(len(self._intents), dtype=np.float32)
        for k, intent in enumerate(self._intents):
            units[k] += CUE * min(sum(1 for c in self._cues[k] if c.search(message)), MAX_CUES)
            keyword = self._keywords[k]
            if keyword is not None and keyword.search(message):
                units[k] += KEYWORD
            if intent.expects is not None:
                units[k] += EXPECT if getattr(slots, intent.expects) is not None else -EXPECT
            if any(getattr(slots, name) is not None for name in intent.avoids):
                units[k] -= EXPECT
        return units

    def scores(
        self, message: str, slots: Slots | None = None
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(each intent's probability, each intent's best example cosine plus its lexical
        evidence as cosine, the probability that it is outside what the chat answers):
        the classifier's log-probabilities plus the lexical evidence, through a softmax."""
        slots = slots if slots is not None else extract(message)
        self.load()
        fitted = self._fitted
        assert fitted is not None
        message = correct(message, fitted.vocabulary)
        masked = mask(message)
        vector = np.asarray(self._embedder.embed([masked]), dtype=np.float32)
        logp = fitted.classifier.predict_log_proba(fitted.features(vector, [masked]))[0]
        units = self.lexical(message, slots)
        n = len(self._intents)
        z = logp + np.append(units, 0.0)[: len(logp)]
        probability = np.exp(z - z.max())
        probability /= probability.sum()
        best = np.full(len(logp), -1.0, dtype=np.float32)
        np.maximum.at(best, fitted.owner, fitted.matrix @ vector[0])
        beyond = float(probability[n]) if len(logp) > n else 0.0
        return probability[:n], best[:n] + SIMILARITY_PER_UNIT * units, beyond

    def route(self, message: str, slots: Slots | None = None) -> Route:
        route = self._route(message, slots)
        if route.intent is None:
            return route
        return self._two_questions(message, route) or route

    def _route(self, message: str, slots: Slots | None = None, *, part: bool = False) -> Route:
        """`part`: one of two questions in a message; a short one that names a value of its
        own ("... and should I sidebet?") is a question there, not a bare topic, and one
        that points at something ("why did it lose and ...") may point at the other part."""
        probability, similarity, beyond = self.scores(message, slots)
        order = np.argsort(-probability, kind="stable")
        top, runner_up = float(probability[order[0]]), float(probability[order[1]])
        ranked = tuple((self._intents[k], float(probability[k])) for k in order[:CANDIDATES])
        every = {i.name: float(p) for i, p in zip(self._intents, probability, strict=True)}
        like = float(similarity.max())

        def unsure(reason: str) -> Route:
            return Route(None, top, ranked, reason, every, like, like < self.floor)

        if _WRITES.search(message) or _ORDERS.search(message):
            return Route(None, top, ranked, "order", every, like, True)
        said, masked = extract(message), mask(message)
        which = self._which_id(message, said, every)
        if which:
            return Route(None, top, which, "ambiguous", every, like)
        if like < self.floor:
            return unsure("low_confidence")
        if beyond > top:  # most like the questions the chat does not answer
            return Route(None, top, ranked, "low_confidence", every, like, True)
        if ELSEWHERE.search(masked) and not (said.tick or said.game_id or said.run_id):
            return Route(None, top, ranked, "low_confidence", every, like, True)
        words = len(_WORD.findall(masked.lower()))
        keyworded = any(
            k is not None and k.search(message) and (words > 1 or k.pattern.startswith("^"))
            for k in self._keywords
        )  # one word names a topic ("fair?"), unless a keyword is a whole request ("help")
        named = said.player is not None and words == 2  # "moonboi's pnl", "profile moonboi"
        if is_bare(masked) and not keyworded and not named and not (part and said.filled()):
            return unsure("ambiguous")
        threshold = self.threshold
        if not keyworded and _FOLLOWS_ON.match(message) and words <= SHORT_WORDS:
            return unsure("ambiguous")
        if not keyworded and is_vague(masked, said):
            if _DEICTIC.search(message.lower()) and not part:
                return unsure("ambiguous")
            threshold = max(threshold, SHORT_THRESHOLD)
        if top < threshold or top - runner_up < self.margin:
            return unsure("ambiguous" if top >= self.threshold else "low_confidence")
        return Route(ranked[0][0], top, ranked, None, every, like)

    def _which_id(
        self, message: str, said: Slots, every: dict[str, float]
    ) -> tuple[tuple[Intent, float], ...]:
        """The intents that look up the one id a message gives with no word of what it is
        ("status of <uuid>": a job's or a training run's), as equally likely (the message
        says nothing of which), the classifier's order kept; empty when the message says
        more, or only one intent takes such an id."""
        for slot, takers in self._lookups.items():
            value = getattr(said, slot)
            if value is None:
                continue
            rest = re.sub(re.escape(value), " ", message, flags=re.IGNORECASE).lower()
            if len(takers) > 1 and set(_WORD.findall(rest)) <= _ID_ONLY:
                ranked = sorted(takers, key=lambda i: -every[i.name])
                return tuple((i, 1.0 / len(takers)) for i in ranked)
        return ()

    def _two_questions(self, message: str, route: Route) -> Route | None:
        """Two questions of different intents in one message ("what happened in <round> and
        was it fair?"): asked back offering both, rather than answering the first or the
        stronger. Each part must route confidently by itself (a part that points at
        something, "why did it lose and what would the oracle have done", may point at the
        other), the second must read as a question, and the message read whole must still
        give the second part's intent SECOND_WEIGHT: a part that continues the first
        question ("... and how many were overridden", "how many sidebets won and how many
        lost") is not a second one. The first part needs no such weight: it is never a
        continuation, and a whole that leans to the second gives it little ("how many
        rounds last week and what was the avg rug tick": 0.02)."""
        for join in _JOINS.finditer(message):
            first = message[: join.start()].strip()
            second = _CONNECTIVE.sub("", message[join.end() :]).strip()
            if not first or not _ASKS.match(second):
                continue
            two = self._route(second, part=True)  # first: most continuations stop here
            if two.intent is None or route.scores[two.intent.name] < SECOND_WEIGHT:
                continue
            one = self._route(first, part=True)
            if one.intent is not None and one.intent != two.intent:
                return Route(
                    None, route.confidence,
                    ((one.intent, one.confidence), (two.intent, two.confidence)),
                    "two_questions", route.scores, route.similarity, parts=(first, second),
                )  # fmt: skip
        return None
