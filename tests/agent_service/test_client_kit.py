"""The VECTRA-PLAYER kit: the shipped PPO baseline plays simulated rounds through
`HybridPolicy` against a live `agent-service serve`, then with the service down (the
model's own actions, no stall beyond the client's timeout); fallbacks reach the decision
log through `DecisionRecorder`."""

from __future__ import annotations

import time

import numpy as np
import pytest
import requests

from tests.conftest import API_KEY
from tests.support.isolation import run_without
from tests.support.process import cli_env, start_cli, wait_http
from tests.support.tcp_proxy import free_port

ROUNDS = 200
N_ENVS = 25


def test_the_kit_imports_with_only_requests_and_gymnasium():
    done = run_without(
        """
        import gymnasium, requests
        from agent_service.client import (
            AgentClient, CurriculumCallback, DecisionRecorder, HybridPolicy,
        )
        client = AgentClient("http://127.0.0.1:9", api_key="k")
        with DecisionRecorder(client, bot_id="b", close_timeout_s=0.1) as recorder:
            HybridPolicy(object(), client, bot_id="b", recorder=recorder)
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_observation_layout_is_the_envs():
    from agent_service.client.policy import FEATURES
    from game.observation import FEATURES as GAME_FEATURES

    assert FEATURES == GAME_FEATURES


def _play(predict, rounds: int, seed: int) -> tuple[list[float], list[float]]:
    """`rounds` rounds of the classic SidebetV1Env (vectorized); per round its PnL, and
    the seconds of each predict call."""
    from game.rules import load_mode
    from game.vec_env import make_vec_env

    env = make_vec_env("sidebet_v1", load_mode("classic"), N_ENVS, seed=seed)
    obs = env.reset()
    pnls: list[float] = []
    seconds: list[float] = []
    while len(pnls) < rounds:
        started = time.perf_counter()
        actions, _ = predict(obs)
        seconds.append(time.perf_counter() - started)
        obs, _, dones, infos = env.step(actions)
        pnls.extend(info["pnl"] for info, done in zip(infos, dones, strict=True) if done)
    env.close()
    return pnls[:rounds], seconds


@pytest.fixture
def baseline():
    pytest.importorskip("stable_baselines3")
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)  # an MLP of 25 rows: more threads only contend on a loaded box

    from game.rl_baseline import baseline_path

    return PPO.load(baseline_path("classic"), device="cpu")


@pytest.fixture
def service(tmp_path, fresh_pg_dsn):
    port = free_port()
    env = cli_env(
        DATABASE_URL=fresh_pg_dsn,
        AGENT_API_KEYS=API_KEY,
        AGENT_DATA_DIR=str(tmp_path / "data"),
        AGENT_WORKERS="1",
        AGENT_KNOWLEDGE_SEED_ON_START="false",
    )
    proc = start_cli("serve", "--port", str(port), env=env, cwd=tmp_path, log=tmp_path / "s.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/health", within=120, proc=proc)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


@pytest.mark.slow
def test_the_ppo_baseline_plays_through_the_hybrid_then_falls_back(baseline, service):
    from agent_service.client import AgentClient, DecisionRecorder, HybridPolicy

    proc, base = service
    auth = {"Authorization": f"Bearer {API_KEY}"}

    # the service up: every moment that allows a bet is decided by the hybrid
    client = AgentClient(base, api_key=API_KEY, decide_timeout_s=2.0)
    recorder = DecisionRecorder(client, bot_id="ppo-kit", flush_interval_s=0.2)
    policy = HybridPolicy(baseline, client, bot_id="ppo-kit", recorder=recorder)
    pnls, _ = _play(policy.predict, ROUNDS, seed=11)
    assert len(pnls) == ROUNDS
    s = policy.stats
    assert s.consulted > ROUNDS / 4, s  # classic rounds often reach tick 200
    assert s.answered >= 0.95 * s.consulted, s  # a loaded machine may miss a few
    assert set(s.sources) <= {"rl", "agent", "fallback"}
    recorder.close()
    policy.close()
    deadline = time.monotonic() + 60
    logged = 0
    while time.monotonic() < deadline:
        bots = requests.get(
            f"{base}/v1/hybrid/stats?bot_id=ppo-kit", headers=auth, timeout=10
        ).json()["bots"]
        logged = sum(b["decisions"] for b in bots)
        if logged >= s.answered:
            break
        time.sleep(0.5)
    assert logged >= s.answered  # the hybrid logs what it answers (and the recorder the rest)

    # the service down: the model's own actions, each batch within the timeout
    proc.terminate()
    proc.wait(30)
    timeout = 0.05
    down = AgentClient(base, api_key=API_KEY, decide_timeout_s=timeout)
    recorder = DecisionRecorder(down, bot_id="ppo-kit", close_timeout_s=0.5)
    policy = HybridPolicy(baseline, down, bot_id="ppo-kit", recorder=recorder)
    started = time.perf_counter()
    fallback_pnls, fallback_seconds = _play(policy.predict, ROUNDS, seed=12)
    fallback_total = time.perf_counter() - started
    alone_pnls, alone_seconds = _play(
        lambda obs: baseline.predict(obs, deterministic=True), ROUNDS, seed=12
    )
    assert fallback_pnls == alone_pnls  # exactly the model's actions
    s = policy.stats
    assert s.consulted > 0 and s.answered == 0 and s.fallbacks + s.skipped_late == s.consulted
    assert s.slowest_batch_ms <= timeout * 1000 + 100, s  # no call outlives the deadline
    assert recorder.pending > 0  # kept for when the service is back
    policy.close()
    closing = time.perf_counter()
    recorder.close()
    assert time.perf_counter() - closing < 2.0
    print(
        f"\n{ROUNDS} rounds down: {fallback_total:.1f} s through the wrapper, "
        f"{sum(alone_seconds):.1f} s of model alone; slowest batch {s.slowest_batch_ms:.1f} ms, "
        f"p99 predict {1000 * float(np.quantile(fallback_seconds, 0.99)):.2f} ms"
    )


def test_the_bots_own_decisions_join_the_log(app, client, auth):
    body = {
        "bot_id": "own-bot",
        "decisions": [
            {"tick": 210, "price": 1.4, "rl_action": 1, "action": 1, "source": "fallback",
             "reason": "timeout", "latency_ms": 50.0},
            {"tick": 211, "price": 1.41, "rl_action": 0, "action": 0},
        ],
    }  # fmt: skip
    r = client.post("/v1/hybrid/decisions", json=body, headers=auth)
    assert r.status_code == 202 and r.json == {"accepted": 2}
    app.extensions["agent"].backends.decisions.flush()
    bots = client.get("/v1/hybrid/stats?bot_id=own-bot", headers=auth).json["bots"]
    assert [(b["decisions"], b["overrides"]) for b in bots] == [(2, 0)]
    bad = client.post(
        "/v1/hybrid/decisions",
        json={"bot_id": "own-bot", "decisions": [{**body["decisions"][0], "source": "agent"}]},
        headers=auth,
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"].endswith("source")
