"""Next-action accuracy on players unlike the ones the model was tuned on, measured
through `POST /v1/opponents/predict` over loopback, as the held-back acceptance does.

The seven personas play with parameters drawn outside the ranges `game.personas` uses
(`OTHER`: later exits, deeper dips, late sidebets, smaller whales, slower copiers...),
optionally on another mode's rounds. The model is fitted on the earlier 70 % of the
rounds (`service.fit`, the fit job's code), stored in a real `agent-service serve`'s
database; the later rounds' moments (horizon 10) are sent as predict items carrying
what a caller sees (tick, price, the 20 prices before, the peak, the position, the
round's buys/sells/sidebets). Prints ARI of the archetypes against the personas, top-1
on acting moments with its 95 % interval, both baselines (majority action and each
player's own frequencies, from the training moments), log loss and ECE.

    python bench/opponents_robustness.py --mode classic --rounds 1500 --players 21
    python bench/opponents_robustness.py --mode fast_rug --seed 12
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.opponents import serving  # noqa: E402
from bench.service_harness import load  # noqa: E402
from capabilities.opponents import predictor as pr  # noqa: E402
from capabilities.opponents import service  # noqa: E402
from capabilities.opponents.history import ACTIONS, NONE, History, from_activity  # noqa: E402
from capabilities.opponents.models import OpponentFitSpec  # noqa: E402
from game.personas import Player, make_players, simulate_players  # noqa: E402
from game.rules import load_mode  # noqa: E402
from game.simulator import simulate_rounds  # noqa: E402

# parameter ranges outside those the seven personas' players are drawn from
OTHER: dict[str, dict[str, tuple[float, float]]] = {
    "early_seller": {"target": (2.0, 3.0), "amount": (0.1, 0.3), "presale": (0.0, 0.2)},
    "diamond_hands": {"target": (3.0, 6.0), "amount": (0.05, 0.15), "presale": (0.0, 0.3)},
    "dip_buyer": {"dip": (0.45, 0.6), "rebound": (1.05, 1.15), "amount": (0.1, 0.3)},
    "sidebet_regular": {"first_tick": (220.0, 400.0), "amount": (0.05, 0.1),
                        "keep_going": (0.3, 0.5), "gap": (10.0, 30.0)},
    "whale": {"amount": (0.2, 0.5), "target": (1.1, 1.3), "target2": (3.0, 5.0),
              "presale": (0.0, 0.3)},
    "random": {"trips": (3.0, 6.0), "amount": (0.05, 0.2), "sidebet": (0.3, 0.6)},
    "copy_trader": {"delay": (5.0, 12.0), "scale": (1.0, 2.0)},
}  # fmt: skip
ACTIVITY = {"early_seller": 0.6, "diamond_hands": 0.5, "dip_buyer": 0.7, "sidebet_regular": 0.6,
            "whale": 0.8, "random": 0.5, "copy_trader": 0.7}  # fmt: skip


def other_players(n: int, seed: int) -> list[Player]:
    rng = np.random.default_rng([seed, 0x07E])
    return [
        Player(p.player_id, p.username, p.level, p.persona,
               {**{k: float(rng.uniform(lo, hi)) for k, (lo, hi) in OTHER[p.persona].items()},
                "activity": ACTIVITY[p.persona]})
        for p in make_players(n, seed)
    ]  # fmt: skip


def predict_items(h: History, m: pr.Moments, mode: str) -> list[dict]:
    """The moments as predict items: what a caller watching the round would send."""
    s = m.state
    price = np.exp(s["log_price"])
    items = []
    for i in range(len(m)):
        r, t = int(m.round[i]), int(s["tick"][i])
        lo = max(0, t - 20)
        recent = h.price_at(np.full(t - lo, r), np.arange(lo, t)).tolist()
        state = {
            "mode": mode, "tick": t, "price": float(price[i]), "recent_prices": recent,
            "peak_price": float(h.price_at(np.array([r]), np.array([t]), peak=True)[0]),
            "buys_this_round": int(s["buys_so_far"][i]),
            "sells_this_round": int(s["sells_so_far"][i]),
            "sidebets_this_round": int(s["sidebets_so_far"][i]),
        }  # fmt: skip
        if s["sidebet_active"][i] > 0:
            state["sidebet"] = {"start_tick": max(0, t - 1), "end_tick": t}
        elif s["since_sidebet"][i] >= 0:
            end = int(t - s["since_sidebet"][i])
            state["sidebet"] = {"start_tick": max(0, end - 40), "end_tick": end}
        position = None
        if s["held"][i] > 0:
            position = {"qty": 1.0, "avg_cost": float(price[i] / math.exp(s["log_multiple"][i])),
                        "entry_tick": int(t - s["held_ticks"][i])}  # fmt: skip
        items.append({"player_id": h.player_ids[int(m.player[i])], "state": state,
                      "position": position, "horizon_ticks": 10})  # fmt: skip
    return items


def main() -> None:
    from sklearn.metrics import adjusted_rand_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="classic")
    parser.add_argument("--rounds", type=int, default=1500)
    parser.add_argument("--players", type=int, default=21)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--moments", type=int, default=20_000, help="later moments scored")
    args = parser.parse_args()

    rules = load_mode(args.mode)
    players = other_players(args.players, args.seed)
    rounds = simulate_rounds(rules, args.rounds, args.seed)
    h = from_activity(rounds, simulate_players(rules, rounds, players), players, args.mode)
    cut = round(h.n_rounds * 0.7)
    order = np.arange(h.n_rounds)
    train, test = h.subset(order < cut), h.subset(order >= cut)
    spec = OpponentFitSpec(seed=0)
    began = time.perf_counter()
    fitted, rows = service.fit(train, spec)
    ari = adjusted_rand_score([p.persona for p in players],
                              fitted.archetypes.memberships.argmax(axis=1))  # fmt: skip
    print(f"{args.mode}: {args.rounds} rounds x {args.players} players, other persona "
          f"parameters; fitted on the first {cut} rounds in {time.perf_counter() - began:.1f} s "
          f"({load()}); {len(fitted.archetypes.names)} archetypes, ARI {ari:.3f}")  # fmt: skip
    m = pr.moments(test, horizons=(10,), seed=5, max_moments=args.moments)
    items = predict_items(test, m, args.mode)
    with serving(fitted, rows) as svc:
        session, url = requests.Session(), svc.base + "/v1/opponents/predict"
        proba = []
        for b in range(0, len(items), 100):
            r = session.post(url, json={"items": items[b : b + 100]}, headers=svc.headers)
            assert r.status_code == 200, r.text
            proba += [[o["probabilities"][a] for a in ACTIONS] for o in r.json()["items"]]
    m_train = pr.moments(train, max_moments=spec.max_moments, seed=spec.seed)
    acting = m_train.label != NONE
    majority = int(np.bincount(m_train.label[acting], minlength=3).argmax())
    res = pr.score(np.array(proba), m, pr.own_frequencies(m_train, h.n_players), majority)
    lo, hi = res["top1_ci"]
    print(f"through POST /v1/opponents/predict on the last {h.n_rounds - cut} rounds, "
          f"horizon 10: top-1 {res['top1']:.3f} [{lo:.3f}, {hi:.3f}] on "
          f"{res['acting_moments']} acting moments; majority {res['baseline_majority']:.3f}, "
          f"own frequency {res['baseline_own_frequency']:.3f}; log loss "
          f"{res['log_loss']:.4f}, ECE {res['ece']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
