"""Leave-one-set-out cross-validation of the chat router (no service, no database).

Each evaluation set of capabilities/chat/intents/phrasings (`dev` .. `heldout4`) is left
out of the fit in turn and routed by a router fitted on everything else (the intents'
examples, the other sets, the paraphrases, the outside questions). Every set was tuned
on at some point, so the pooled figure is optimistic: it ranks changes, it is not an
estimate for unseen questions (the once-evaluated held-out runs in docs/chat.md are).
Prints the pooled rate with its Wilson 95 % interval, each fold, the wrong routes and
the most frequent confusion pairs.

    python bench/chat_routing_cv.py [--sets dev,heldout,...] [--show-wrong]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capabilities.chat.intents import outside, registry  # noqa: E402
from capabilities.chat.router import IntentRouter  # noqa: E402
from tests.capabilities.chat.routing_eval import CV_SETS, load  # noqa: E402
from tools.agent_tools.analytics_queries import wilson_interval  # noqa: E402
from tools.embeddings import LocalMiniLM  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(CV_SETS))
    parser.add_argument("--show-wrong", action="store_true", help="also the asked-back ones")
    args = parser.parse_args()
    embedder = LocalMiniLM()
    right = n = 0
    wrong: list[tuple[str, str, str]] = []
    asked: list[tuple[str, str, str]] = []
    for left_out in args.sets.split(","):
        router = IntentRouter(embedder, registry([left_out]), outside=outside([left_out]))
        cases = load(left_out)
        fold = 0
        for case in cases:
            route = router.route(case.message)
            got = route.intent.name if route.intent else None
            ok = got is None if case.intent is None else got == case.intent
            fold += ok
            if not ok:
                target = asked if got is None else wrong
                target.append((left_out, case.message, f"{case.intent or '(ask back)'} -> {got}"))
        right, n = right + fold, n + len(cases)
        print(f"{left_out:10s} {fold}/{len(cases)} ({100 * fold / len(cases):.1f} %)")
    lo, hi = wilson_interval(right, n)
    print(
        f"pooled     {right}/{n} = {100 * right / n:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}], "
        f"wrong route {len(wrong)}, asked back {len(asked)}"
    )
    for left_out, message, what in wrong + (asked if args.show_wrong else []):
        print(f"  {left_out:9s} {what:45s} {message}")
    pairs = collections.Counter(what for *_, what in wrong + asked)
    print("confusions:", ", ".join(f"{w} x{c}" for w, c in pairs.most_common(12)))


if __name__ == "__main__":
    main()
