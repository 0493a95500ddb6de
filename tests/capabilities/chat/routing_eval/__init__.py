"""An evaluation of routing the router is not tuned on: 336 plain questions written
apart from the intents' examples (none of them an example or an earlier phrasing),
split per intent into a dev half (looked at while improving the router) and a held-out
half (committed before any tuning, evaluated once at the end). `heldout2.jsonl` (163:
151 plain, 5-6 an intent, 12 ambiguous) was written after that evaluation and committed
before the router was improved further (the first held-out half then became
development data like the dev half): it too is evaluated once. `heldout3.jsonl` (163:
152 plain, 5-6 an intent, 11 ambiguous) was written by a later helper before it looked
at any routing error, committed alone, and evaluated once after that round of tuning.
`heldout4.jsonl` (240: 220 plain over the 28 intents, 5-12 each in proportion to how
often users would ask, 20 ambiguous) was written from the intents' descriptions only
(no example, no earlier set looked at; exact repeats of any of them replaced), committed
before the router was changed, and was evaluated once at the end of that round.

`dev` .. `heldout6`, each evaluated once and tuned on since, are now training data: they
live in capabilities/chat/intents/phrasings/ and the router learns from their plain
questions (the tests and bench/chat_routing_cv.py cross-validate: each left out of the
fit in turn, an optimistic figure since all were tuned on). A later held-out set is put
here, apart from everything the router learns from, until it is evaluated once:
`heldout5.jsonl` (250: 225 plain, 25 ambiguous or outside) was written blind (by an
author who read only the intents' one-line descriptions), committed before the router's
last round was merged, and evaluated once on the finished router (docs/chat.md); it
is training data now too (19 of its questions are, word for word, examples the router
already had: short common questions two authors wrote alike). Three more sets written
blind in three users' voices (`authors_dev`, `authors_ops`, `authors_trader`, 200
each) were run once on that router and then became training data; `heldout6.jsonl`
(250: 230 plain, 20 ambiguous or outside), written blind as well, was run once on the
router trained on them, and is training data now too (docs/chat.md); so is
`heldout7.jsonl` (260: 234 plain, 26 ambiguous or outside), written blind and run once
on the router with the two-questions, order and bare-id rules: 95.0 % (docs/chat.md);
and `heldout8.jsonl` (260: 234 plain, 26 ambiguous or outside), written blind and run
once on the router trained on heldout7: 93.8 % (docs/chat.md). `heldout9.jsonl` (260:
234 plain, 26 ambiguous or outside), written blind, was run once on the router with the
rules that followed: 95.0 % (docs/chat.md); it is still here, held out, and becomes
training data with the next round.

Each line of `dev.jsonl` / `heldout.jsonl` is `{"message", "intent"}` (the intent it must
reach; asking for a missing value is fine) or `{"message", "ambiguous": [...]}` (it must
be asked back; the list names the intents a clarification may offer, empty when the
question is outside what the chat answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from capabilities.chat.intents import PHRASINGS

HERE = Path(__file__).resolve().parent
CV_SETS = (
    "dev",
    "heldout",
    "heldout2",
    "heldout3",
    "heldout4",
    "authors_dev",
    "authors_ops",
    "authors_trader",
    "heldout5",
    "heldout6",
    "heldout7",
    "heldout8",
)  # cross-validated; the last, with >= 5 an intent, is checked alone too


@dataclass(frozen=True)
class Case:
    message: str
    intent: str | None  # None: marked ambiguous
    candidates: tuple[str, ...] = ()


def load(split: str) -> list[Case]:
    """The cases of one split: a set kept here (not learned from), else one of the
    training sets in the intents' phrasings (`CV_SETS`)."""
    path = HERE / f"{split}.jsonl"
    if not path.exists():
        path = PHRASINGS / f"{split}.jsonl"
    cases = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        cases.append(Case(row["message"], row.get("intent"), tuple(row.get("ambiguous", ()))))
    return cases
