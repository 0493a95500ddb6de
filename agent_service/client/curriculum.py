"""A curriculum for the bot's own training loop: every N episodes, ask the service which
scenarios to train on next and reconfigure the envs.

Needs only `requests` (and the bot's gymnasium/SB3 setup); nothing of the server side.
stable-baselines3 turns a plain callable `(locals, globals) -> bool` into a callback,
so no SB3 import is needed here either:

    from agent_service.client import AgentClient
    from agent_service.client.curriculum import CurriculumCallback

    client = AgentClient("http://127.0.0.1:8000", api_key=KEY)
    curriculum = CurriculumCallback(client, mode="rising_hazard", every_episodes=500)
    model.learn(500_000, callback=curriculum)

After every `every_episodes` finished episodes the callback sends the episodes played on
each scenario since its last call (the tick each one bet at, taken from the env's
`info["bet_tick"]` and `info["scenario"]`), plus the `history` earlier windows of each
scenario so the service sees whether regret is falling, to `POST /v1/curriculum/next`;
then it draws each env's next scenario from the answer's probabilities and applies it
with `apply(env, index, scenario)`, by default `env.env_method("set_scenario",
scenario, indices=[index])` (what the service's own envs and `game.envs` offer). A bot
whose env takes scenarios differently passes its own `apply`. When the service cannot
answer, the envs keep their scenarios and training goes on.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("agent_service.client.curriculum")

Scenario = dict[str, Any]
Ask = Callable[[dict[str, Any]], dict[str, Any]]
Apply = Callable[[Any, int, Scenario], None]
MAX_EPISODES_PER_WINDOW = 5000


def set_scenario(env: Any, index: int, scenario: Scenario) -> None:
    """Default `apply`: the VecEnv's sub-env `index` plays `scenario` from its next episode."""
    env.env_method("set_scenario", scenario, indices=[index])


class CurriculumCallback:
    """Reconfigures the training envs every `every_episodes` episodes (see module doc).

    `client` is an `AgentClient` (its `post` is used), or pass `ask(request) -> answer`
    instead (e.g. an in-process call). `request` adds fields to every request (e.g.
    `scenarios`, `count`, `stale_share`, `min_relevance`)."""

    def __init__(
        self,
        client: Any = None,
        *,
        mode: str,
        every_episodes: int = 500,
        history: int = 6,
        request: dict[str, Any] | None = None,
        ask: Ask | None = None,
        apply: Apply = set_scenario,
        seed: int = 0,
    ) -> None:
        if ask is None:
            if client is None:
                raise ValueError("pass an AgentClient or an ask(request) function")
            ask = lambda body: client.post("/v1/curriculum/next", body)  # noqa: E731
        self.mode, self.every, self.ask, self.apply = mode, every_episodes, ask, apply
        self.request = dict(request or {})
        self.rng = random.Random(seed)
        self.known: dict[str, Scenario] = {}
        self.window: dict[str, list[int | None]] = defaultdict(list)
        self.past: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=history))
        self.episodes = 0
        self.updates = 0
        self.last_answer: dict[str, Any] | None = None
        self._started = False

    def __call__(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> bool:
        model = locals_["self"]
        env = model.get_env()
        if not self._started:  # the first scenarios, before any episode
            self._started = True
            self.update(env, model.num_timesteps)
        for info, done in zip(locals_.get("infos", ()), locals_.get("dones", ()), strict=False):
            if done:
                self.record(info)
        if self.episodes >= self.every:
            self.update(env, model.num_timesteps)
        return True

    def record(self, info: dict[str, Any]) -> None:
        """One finished episode (its info dict)."""
        self.episodes += 1
        scenario = info.get("scenario")
        if scenario in self.known and len(self.window[scenario]) < MAX_EPISODES_PER_WINDOW:
            self.window[scenario].append(info.get("bet_tick"))

    def results(self, step: int) -> list[dict[str, Any]]:
        """This window's results per scenario, appended to each scenario's history."""
        for sid, ticks in self.window.items():
            if ticks:
                self.past[sid].append(
                    {"scenario": self.known[sid], "step": step, "bet_ticks": list(ticks)}
                )
        self.window.clear()
        return [r for past in self.past.values() for r in past]

    def update(self, env: Any, step: int) -> None:
        """Ask for the next scenarios and give one to each env."""
        self.episodes = 0
        body = {"mode": self.mode, **self.request, "results": self.results(step)}
        try:
            answer = self.ask(body)
        except Exception as exc:  # the service is optional: keep training as configured
            log.warning("curriculum: no answer, keeping the current scenarios: %s", exc)
            return
        self.last_answer = answer
        self.updates += 1
        options = answer.get("scenarios") or []
        weights = [max(float(o.get("probability", 0.0)), 0.0) for o in options]
        if not options or sum(weights) <= 0:
            return
        for option in options:
            self.known[option["id"]] = option["scenario"]
        for index, option in enumerate(self.draw(options, weights, env.num_envs)):
            self.apply(env, index, option["scenario"])

    def draw(self, options: Sequence[dict[str, Any]], weights: list[float], n: int) -> list[Any]:
        """`n` scenarios in proportion to their weights (systematic sampling: each gets
        its share of the envs, rounded, in a random order)."""
        total = sum(weights)
        start = self.rng.random() / n
        picks, cumulative, k = [], 0.0, 0
        for i in range(n):
            target = (start + i / n) * total
            while cumulative + weights[k] < target and k < len(weights) - 1:
                cumulative += weights[k]
                k += 1
            picks.append(options[k])
        self.rng.shuffle(picks)
        return picks
