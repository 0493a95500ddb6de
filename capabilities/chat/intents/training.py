"""The training lab: run status, the runs list, a policy against the oracle, and the
curriculum's next scenarios."""

from __future__ import annotations

import re
import uuid
from typing import Any

from capabilities.chat.intent import ChatContext, Intent, mode_of
from capabilities.chat.slots import Slots
from capabilities.chat.text import num, pct, sol
from capabilities.curriculum.models import CurriculumRequest
from capabilities.curriculum.service import next_scenarios
from capabilities.engines.runtime.evidence import Evidence
from capabilities.training.runs import get_run, list_runs
from tools.policy_store import PolicyRecord, policy_store


def _latest_point(run: dict[str, Any]) -> dict[str, Any] | None:
    curve = run.get("curve") or []
    return curve[-1]["evaluation"] if curve else None


def run_status(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def training_run(**kw: Any) -> dict[str, Any] | None:
        run_id = kw["run_id"]
        if run_id is None:
            runs = list_runs(context.database, limit=1)
            if not runs:
                return None
            run_id = str(runs[0].id)
        run = get_run(context.database, uuid.UUID(run_id))
        return None if run is None else run.model_dump(mode="json", exclude={"spec"})

    r = found.call(training_run, run_id=slots.run_id)
    if r is None:
        return "No training run found" + (f" with id {slots.run_id}." if slots.run_id else ".")
    text = (
        f"Training run {r['id']} ({r['env']}, {r['mode']}) is {r['state']} at "
        f"{pct(r['progress'])}" + (f": {r['message']}" if r.get("message") else "") + "."
    )
    point = _latest_point(r)
    if point:
        pnl = point.get("pnl") or {}
        text += (
            f" Latest evaluation: PnL {sol(pnl.get('mean'))} per round over "
            f"{point.get('n_rounds')} rounds"
            + (f", oracle {sol(point['oracle_value'])}" if point.get("oracle_value") is not None
               else "") + "."
        )  # fmt: skip
    if r.get("error"):
        text += f" Error: {r['error']}"
    return text


def runs(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def training_runs(**kw: Any) -> list[dict[str, Any]]:
        return [
            r.model_dump(mode="json", include={"id", "name", "mode", "state", "progress"})
            for r in list_runs(context.database, limit=kw["limit"])
        ]

    r = found.call(training_runs, limit=10)
    if not r:
        return "No training runs yet: POST /v1/training/runs starts one."
    listed = "; ".join(f"{x['id']} {x['mode']} {x['state']} {pct(x['progress'])}" for x in r)
    return f"The {len(r)} newest training runs: {listed}."


_OWN_BOT = re.compile(r"\b(my|our|mine)\b", re.IGNORECASE)


def _find_policy(context: ChatContext, slots: Slots) -> PolicyRecord | None:
    store = policy_store(context.database)
    records = store.list(mode=slots.mode, limit=200)
    if slots.bot_id:
        for record in records:
            if slots.bot_id in (record.id, record.name) or record.name.startswith(slots.bot_id):
                return record
    trained = [r for r in records if not r.builtin]
    if trained:
        return trained[0]
    mode = mode_of(context, slots)
    return next((r for r in records if r.mode == mode), records[0] if records else None)


def _stand_in(context: ChatContext, slots: Slots, found: dict[str, Any]) -> str:
    """What the answer says first when the policy scored is not the one asked about: a
    named bot that no stored policy matches, or "my bot" when only the built-in baseline
    is stored (its figures are not the user's bot's)."""
    named = slots.bot_id
    if named and named not in (found["id"], found["name"]) and not found["name"].startswith(named):
        return f"No stored policy is named {named}; the nearest stored one is scored instead. "
    if found["builtin"] and _OWN_BOT.search(context.message):
        return (
            f"No trained policy of yours is stored for {found['mode']}: these are the "
            "built-in baseline's figures, not your bot's. "
        )
    return ""


def compare_oracle(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def policy_scores(**_: Any) -> dict[str, Any] | None:
        record = _find_policy(context, slots)
        if record is None:
            return None
        return {"id": record.id, "name": record.name, "mode": record.mode,
                "builtin": record.builtin, "scores": record.scores}  # fmt: skip

    r = found.call(policy_scores, bot_id=slots.bot_id, mode=slots.mode)
    if r is None:
        return "No policy is stored to compare with the oracle."
    s = r["scores"]
    held = s.get("held_out")
    if held:
        pnl = (held.get("pnl") or {}).get("mean")
        oracle = held.get("oracle_value")
        regret = (held.get("regret") or {}).get("mean")
        rounds = held.get("n_rounds")
    else:
        pnl, oracle = s.get("ppo_mean_pnl"), s.get("oracle_mean_pnl")
        regret = None if pnl is None or oracle is None else oracle - pnl
        rounds = s.get("eval_rounds")
    label = r["name"] if f"({r['mode']})" in r["name"] else f"{r['name']} ({r['mode']})"
    stand_in = _stand_in(context, slots, r)
    if pnl is None:
        return f"{stand_in}Policy {label} has no held-out score yet."
    return (
        f"{stand_in}Policy {label} makes {sol(pnl)} per round over {num(rounds)} "
        f"held-out rounds; the oracle (who knows the rug tick's law exactly) makes "
        f"{sol(oracle)}: a regret of {sol(regret)} per round."
    )


def curriculum(context: ChatContext, slots: Slots, found: Evidence) -> str:
    request = CurriculumRequest(mode=slots.mode or "rising_hazard", count=3)

    def curriculum_next(**_: Any) -> dict[str, Any]:
        answer = next_scenarios(request)
        return {"mode": answer.mode, "target_oracle_value": answer.target_oracle_value,
                "scenarios": [{"id": s.id, "probability": s.probability,
                               "relevance": s.relevance, "reason": s.reason}
                              for s in answer.scenarios]}  # fmt: skip

    r = found.call(curriculum_next, mode=request.mode, count=request.count)
    listed = "; ".join(
        f"{s['id']} ({pct(s['probability'])} of episodes: {s['reason']})" for s in r["scenarios"]
    )
    return (
        f"To master {r['mode']} (oracle value {sol(r['target_oracle_value'])} per round), train "
        f"next on: {listed}. With a policy id, POST /v1/curriculum/next measures its regret "
        "on every scenario first."
    )


INTENTS = (
    Intent(
        name="training.run_status",
        capability="training",
        description="how a training run is going",
        examples=(
            "how is training run 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6 going?",
            "status of my training run",
            "is the training finished",
            "how far along is the PPO run",
            "what does the learning curve of the last run look like",
            "did my training run fail",
            "how is training run 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6 going",
            "is my training run done",
            "progress of the current training",
            "is the reward still improving in my training",
            "learning curve of run 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "has the training finished yet",
            "latest metrics of my training run",
            "when will training be complete",
            "what is the evaluation reward of the latest run",
            "how is the newest training run doing",
        ),
        handler=run_status,
        looks_up="run_id",
        cues=(r"\b(run|progress|finished|done|learning curve)\b",),
    ),
    Intent(
        name="training.runs",
        capability="training",
        description="the list of training runs",
        examples=(
            "list the training runs",
            "which training runs are there",
            "show all my runs",
            "what have we trained so far",
            "which training runs exist",
            "show all runs",
            "what have we trained",
            "every training run and its state",
            "overview of training runs",
            "my runs so far",
            "how many runs have been trained",
            "every training job we started",
            "all training runs with their states",
        ),
        handler=runs,
        cues=(
            r"\b(list|all|show|every)\b.*\b(runs?|trainings?|training jobs?)\b",
            r"\bruns\b|\btraining jobs\b",
        ),
        avoids=("run_id",),  # one run named: its status
    ),
    Intent(
        name="training.compare_oracle",
        capability="training",
        description="a policy's PnL against the oracle (regret)",
        examples=(
            "compare my bot with the oracle",
            "how far is ppo-v3 from the oracle",
            "what is my policy's regret",
            "how does the baseline compare to the optimal strategy",
            "is my bot close to optimal",
            "bot vs oracle pnl",
            "how does my bot compare with the oracle",
            "what is ppo-v2's regret against the oracle",
            "gap between my policy and optimal play",
            "my bot's pnl vs the oracle's",
            "how close is ppo-v2 to perfect play",
            "regret of my policy in classic",
            "how much does my bot lose compared to the best possible strategy",
            "is my bot anywhere near optimal",
        ),
        handler=compare_oracle,
        keyword=r"\b(oracle|regret)\b",
        cues=(
            r"\boracle\b",
            r"\b(regret|optimal)\b",
        ),
    ),
    Intent(
        name="curriculum.next",
        capability="curriculum",
        description="which scenarios to train on next (Curriculum Learning)",
        examples=(
            "what should my bot train on next?",
            "which scenarios should I train on",
            "give me a curriculum for rising hazard",
            "what's the next training scenario",
            "how should I order training difficulty",
            "what should my bot train on next",
            "next curriculum step",
            "which scenarios should the next training use",
            "where is my bot weak, what to practice",
            "suggest training scenarios for fast rug",
            "what should I focus training on",
            "recommend the next stage of training",
            "which modes should be in the training mix",
            "what should the next run concentrate on",
            "which situations should my bot practise next in classic",
        ),
        handler=curriculum,
        keyword=r"\bcurricul\w*\b",
        cues=(
            r"\bcurricul\w*\b",
            r"\btrain on\b|\bnext\b.*\b(train\w*|practi[cs]e|scenarios?|focus)\b",
        ),
    ),
)
