"""The service itself: jobs, the language models, and what the chat can answer."""

from __future__ import annotations

import uuid
from typing import Any

from capabilities.chat.intent import ChatContext, Intent
from capabilities.chat.slots import Slots
from capabilities.chat.text import pct
from capabilities.engines.runtime.evidence import Evidence
from tools.jobs_store import JobStore


def job_status(context: ChatContext, slots: Slots, found: Evidence) -> str:
    store = JobStore(context.database)

    def jobs(**kw: Any) -> dict[str, Any]:
        if kw["job_id"]:
            job = store.get(uuid.UUID(kw["job_id"]))
            return {"job": None if job is None else {
                "id": str(job.id), "kind": job.kind, "state": job.state,
                "progress": job.progress, "message": job.message, "error": job.error,
                "attempts": job.attempts}}  # fmt: skip
        return {"counts": store.counts()}

    r = found.call(jobs, job_id=slots.run_id)
    if "counts" in r:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(r["counts"].items())) or "none"
        return f"Jobs by state: {counts}. Ask about one by its id for its progress."
    job = r["job"]
    if job is None:
        return f"No job {slots.run_id} exists."
    return (
        f"Job {job['id']} ({job['kind']}) is {job['state']} at {pct(job['progress'])}"
        + (f": {job['message']}" if job["message"] else "")
        + (f"; error: {job['error']}" if job["error"] else "")
        + f" (attempt {job['attempts']})."
    )


def models_status(context: ChatContext, slots: Slots, found: Evidence) -> str:
    runtime = context.runtime

    def language_models(**_: Any) -> dict[str, Any]:
        models = runtime.models if runtime is not None else ()
        return {"models": [m.key for m in models]}

    r = found.call(language_models)
    if not r["models"]:
        return (
            "No language model is configured: every answer comes from the intents and the "
            "capabilities' own numbers. GET /v1/models/status shows the chain when one is."
        )
    return (
        f"The model chain is {', '.join(r['models'])}; GET /v1/models/status shows their "
        "health, budget use and the router's profiles."
    )


def help_text(context: ChatContext, slots: Slots, found: Evidence) -> str:
    from capabilities.chat.intents import REGISTRY

    served = [i for i in REGISTRY if i.available and i.name != "system.help"]
    topics = "; ".join(i.description for i in served)
    return f"I can answer questions about: {topics}."


_QUEUE_JOB = "".join(
    f"(?<!{w} )" for w in ("training", "discover", "discovery", "feature", "features", "fit",
                           "fitting", "tournament", "curriculum", "reward")
) + r"\bjobs?\b"  # fmt: skip

INTENTS = (
    Intent(
        name="jobs.status",
        capability="jobs",
        description="the state of background jobs",
        examples=(
            "what's the status of job 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "are any jobs running",
            "is my job done",
            "how many jobs failed",
            "show the job queue",
            "status of job 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
            "did any background job fail",
            "what's waiting in the queue",
            "is job 0f8c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6 finished",
            "list the pending jobs",
            "how many jobs are queued",
            "show failed jobs from today",
        ),
        handler=job_status,
        looks_up="run_id",
        # "training jobs" are training runs, not the job queue; a job named by what it
        # computes ("the features discover job") is not only the queue's: no keyword
        keyword=_QUEUE_JOB,
        cues=(
            _QUEUE_JOB,
            r"\bqueue\b|\bjobs?\b.*\b(running|finished|done|pending|stuck|fail\w*|status|"
            r"progress)\b|\b(running|finished|pending|stuck|failed|status|progress)\b.*\bjobs?\b",
        ),
    ),
    Intent(
        name="models.llm_status",
        capability="models",
        description="which language models are configured",
        examples=(
            "which language model are you using",
            "is an LLM configured",
            "what model answers my questions",
            "are you running GPT",
            "which language model is configured",
            "is there an llm behind you",
            "what model writes your answers",
            "are you gpt or something else",
            "is the llm backend up",
            "which llm provider do you use",
            "do you answer with a language model or rules",
            "what AI are you running on",
        ),
        handler=models_status,
        keyword=r"\b(llm|language model|gpt|openai|tgi)\b",
        cues=(r"\b(llm|language model|gpt|model chain)\b",),
    ),
    Intent(
        name="system.help",
        capability="chat",
        description="what the chat can answer",
        examples=(
            "what can you do?",
            "help",
            "what questions can I ask",
            "what do you know about",
            "hi, who are you",
            "what topics do you cover",
            "how do I use this chat",
            "what kind of questions do you answer",
            "what can you help me with",
            "how do I use you",
            "list what you can answer",
            "give me some example questions",
            "hello, what are you",
            "what are your capabilities",
        ),
        handler=help_text,
        cues=(r"\b(help|what can you|what can i ask)\b",),
        # "help" or "what can you do" alone is a question, not a bare topic
        keyword=r"^\W*help(\W+(me|pls|please))?\W*$|\bwhat (can|do) you (do|know|answer)\b"
        r"|\bwhat can (this|the) (chat|assistant|bot|thing)\b|\b(this|the) chat\b",
    ),
)
