"""Writes the n8n workflows of this folder (`python n8n_workflows/build.py`).

The workflows share their shapes (a Manual Trigger beside the schedule, the service URL
from `$env.AGENT_SERVICE_URL`, one Header Auth credential, bounded job polling, a final
`Result` node whose items carry `ok`), so they are generated here rather than drawn by
hand; `tests/n8n/test_workflows.py` fails when a committed file differs from this output.
"""

from __future__ import annotations

import itertools
import json
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CREDENTIAL_ID = "vectraAgentKey01"
CREDENTIAL_NAME = "VECTRA agent API key"
RABBITMQ_CREDENTIAL_ID = "vectraAgentAmqp1"
RABBITMQ_CREDENTIAL_NAME = "VECTRA agent RabbitMQ"
BASE = "($env.AGENT_SERVICE_URL || 'http://127.0.0.1:8000').replace(/\\/+$/, '')"
MODES = "($env.AGENT_MODES || 'classic').split(',').map(m => m.trim()).filter(Boolean)"
POLL_SECONDS = "={{ Math.min(Math.max(Number($env.AGENT_POLL_SECONDS || 10), 1), 60) }}"
RESULT = "Result"
TAGS = [{"name": "vectra-agent"}]


@dataclass
class Flow:
    """One workflow under construction: nodes laid out left to right, and their links."""

    key: str
    name: str
    description: str
    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, dict[str, list[list[dict[str, Any]]]]] = field(default_factory=dict)
    endpoints: list[str] = field(default_factory=list)
    column: int = 0

    def add(self, node: dict[str, Any], *, row: int = 0) -> str:
        seed = f"{self.key}/{node['name']}"
        node["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        node["position"] = [self.column * 240, row * 180]
        self.column += 1
        self.nodes.append(node)
        return node["name"]

    def started(self, when: dict[str, Any], first: dict[str, Any]) -> str:
        """Adds `first` after its triggers: the schedule `when` and, beside it, a Manual
        Trigger (`n8n execute` needs one); both lead to `first`, whose name is returned."""
        triggers = [self.add(when), self.add(manual(), row=1)]
        name = self.add(first)
        for trigger in triggers:
            self.link(trigger, name)
        return name

    def link(self, source: str, target: str, *, output: int = 0) -> None:
        outputs = self.links.setdefault(source, {"main": []})["main"]
        while len(outputs) <= output:
            outputs.append([])
        outputs[output].append({"node": target, "type": "main", "index": 0})

    def chain(self, *names: str) -> None:
        for source, target in itertools.pairwise(names):
            self.link(source, target)

    def document(self, workflow_id: str) -> dict[str, Any]:
        return {
            "id": workflow_id,
            "name": self.name,
            "active": False,
            # `n8n execute` starts at the first trigger it finds: the Manual Trigger
            "nodes": sorted(self.nodes, key=lambda n: n["type"] != "n8n-nodes-base.manualTrigger"),
            "connections": self.links,
            "settings": {"executionOrder": "v1", "saveManualExecutions": True},
            "pinData": {},
            "meta": {"vectra": {"description": self.description, "endpoints": self.endpoints}},
            "tags": TAGS,
        }


# -- node builders -----------------------------------------------------------------


def manual() -> dict[str, Any]:
    return {
        "name": "Run now",
        "type": "n8n-nodes-base.manualTrigger",
        "typeVersion": 1,
        "parameters": {},
    }


def schedule(name: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "n8n-nodes-base.scheduleTrigger",
        "typeVersion": 1.2,
        "parameters": {"rule": {"interval": [rule]}},
    }


def _expand(js: str) -> str:
    return js.replace("__MODES__", MODES).replace("__BASE__", BASE)


def code(name: str, js: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "n8n-nodes-base.code",
        "typeVersion": 2,
        "parameters": {"mode": "runOnceForAllItems", "jsCode": _expand(js).strip()},
    }


def condition(name: str, expression: str) -> dict[str, Any]:
    """An IF node whose true output (0) takes the items for which `expression` holds."""
    return {
        "name": name,
        "type": "n8n-nodes-base.if",
        "typeVersion": 2,
        "parameters": {
            "conditions": {
                "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "loose"},
                "conditions": [
                    {
                        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                        "leftValue": "={{ " + expression + " }}",
                        "rightValue": "",
                        "operator": {"type": "boolean", "operation": "true", "singleValue": True},
                    }
                ],
                "combinator": "and",
            },
            "options": {},
        },
    }


def wait(name: str) -> dict[str, Any]:
    # under 65 s n8n waits in process, so `n8n execute` and a worker both resume it
    return {
        "name": name,
        "type": "n8n-nodes-base.wait",
        "typeVersion": 1.1,
        "parameters": {"resume": "timeInterval", "amount": POLL_SECONDS, "unit": "seconds"},
        "webhookId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"wait/{name}")),
    }


def http(
    flow: Flow,
    method: str,
    path: str,
    *,
    name: str | None = None,
    body: str | None = None,
    timeout_ms: int = 30000,
    full_response: bool = False,
    on_error: str | None = None,
) -> dict[str, Any]:
    """A call of the service: `path` may hold n8n expressions ({{ ... }}); /v1 routes
    carry the Header Auth credential."""
    template = path.split("?")[0]
    flow.endpoints.append(f"{method} {template}")
    options: dict[str, Any] = {"timeout": timeout_ms}
    if full_response:
        options["response"] = {"response": {"fullResponse": True, "neverError": True}}
    params: dict[str, Any] = {"method": method, "url": "={{ " + BASE + " }}" + path}
    node: dict[str, Any] = {
        "name": name or f"{method} {template}",
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "parameters": params,
    }
    if path.startswith("/v1/"):
        params["authentication"] = "genericCredentialType"
        params["genericAuthType"] = "httpHeaderAuth"
        node["credentials"] = {"httpHeaderAuth": {"id": CREDENTIAL_ID, "name": CREDENTIAL_NAME}}
    if body is not None:
        params.update(sendBody=True, specifyBody="json", jsonBody="={{ " + body + " }}")
    params["options"] = options
    if on_error:
        node["onError"] = on_error
    return node


def alert_tail(flow: Flow, source: str, *, output: int = 0, row: int = 1) -> str:
    """Post `$json.text` to AGENT_ALERT_WEBHOOK_URL (Slack/Mattermost/Teams incoming
    webhook) when it is set; returns the node the Result follows."""
    gate = flow.add(
        condition("Webhook set?", "Boolean($env.AGENT_ALERT_WEBHOOK_URL) && $json.alert === true"),
        row=row,
    )
    flow.link(source, gate, output=output)
    send = flow.add(
        {
            "name": "Send alert",
            "type": "n8n-nodes-base.httpRequest",
            "typeVersion": 4.2,
            "parameters": {
                "method": "POST",
                "url": "={{ $env.AGENT_ALERT_WEBHOOK_URL }}",
                "sendBody": True,
                "specifyBody": "json",
                "jsonBody": "={{ JSON.stringify({ text: $json.text }) }}",
                "options": {"timeout": 10000},
            },
            "onError": "continueRegularOutput",
        },
        row=row,
    )
    flow.link(gate, send)
    return gate


def poll(flow: Flow, source: str, *, url: str, max_polls: int, output: int = 0) -> tuple[str, str]:
    """Wait, GET the job (or run) the item names, loop until it finished or `max_polls`
    polls were made. Items leave by output 0 of the first node returned (finished) or
    output 1 of the second (timed out: still queued or running)."""
    waiting = flow.add(wait("Wait"))
    flow.link(source, waiting, output=output)
    get = flow.add(http(flow, "GET", url, name="Poll"))
    flow.link(waiting, get)
    done = flow.add(condition("Finished?", "['succeeded', 'failed'].includes($json.state)"))
    flow.link(get, done)
    left = flow.add(condition("Polls left?", f"$runIndex < {max_polls - 1}"), row=1)
    flow.link(done, left, output=1)
    flow.link(left, waiting)
    return done, left


def result(flow: Flow, js: str, *sources: tuple[str, int]) -> str:
    node = flow.add(code(RESULT, js))
    for source, output in sources:
        flow.link(source, node, output=output)
    return node


OUTCOME = """
// a job status here failed or timed out__NOTE__; any other item is the answer
const isJob = j => j.max_attempts !== undefined && j.state !== undefined;
return $input.all().map(item => {
  const j = item.json;
  if (isJob(j)) {
    const summary = j.result ? __JOB_SUMMARY__ : null;
    return { json: { ok: __JOB_OK__, timed_out: !['succeeded', 'failed'].includes(j.state),
      job_id: j.job_id, kind: j.kind, state: j.state, error: j.error || null, summary } };
  }
  return { json: { ok: __ANSWER_OK__, summary: __ANSWER__ } };
});
"""


def outcome(
    *,
    job_summary: str = "j.result",
    answer_ok: str = "true",
    answer: str = "j",
    follow_up: bool = False,
) -> str:
    """The Result code of a job workflow: `ok` per item, with a short summary."""
    job_ok = "false" if follow_up else "j.state === 'succeeded'"
    note = "" if follow_up else " (or succeeded, with nothing to read after it)"
    js = OUTCOME
    for token, value in (
        ("__NOTE__", note),
        ("__JOB_SUMMARY__", job_summary),
        ("__JOB_OK__", job_ok),
        ("__ANSWER_OK__", answer_ok),
        ("__ANSWER__", answer),
    ):
        js = js.replace(token, value)
    return js


def job_flow(
    flow: Flow,
    submit: str,
    *,
    max_polls: int,
    follow_up: dict[str, Any] | None = None,
    result_js: str,
    output: int = 0,
    url: str = "/v1/jobs/{{ $json.job_id }}",
) -> None:
    """Poll the job `submit` started; when it succeeded, call `follow_up` (a node) on its
    status; everything ends in one Result."""
    done, left = poll(flow, submit, url=url, max_polls=max_polls, output=output)
    sources = [(left, 1)]
    if follow_up is None:
        sources.append((done, 0))
    else:
        succeeded = flow.add(condition("Succeeded?", "$json.state === 'succeeded'"))
        flow.link(done, succeeded)
        read = flow.add(follow_up)
        flow.link(succeeded, read)
        sources += [(read, 0), (succeeded, 1)]
    result(flow, result_js, *sources)


# -- the workflows -----------------------------------------------------------------


def readiness_watch() -> Flow:
    f = Flow(
        "readiness-watch",
        "VECTRA agent: readiness watch",
        "Every minute: GET /ready; alerts when a required backend is down and when the "
        "service does not answer at all (connection refused, DNS, timeout).",
    )
    get = f.started(
        schedule("Every minute", {"field": "minutes", "minutesInterval": 1}),
        http(
            f, "GET", "/ready", timeout_ms=10000, full_response=True, on_error="continueErrorOutput"
        ),
    )
    verdict = f.add(
        code(
            "Verdict",
            """
// output 0 of GET /ready: an HTTP answer (200 ready, 503 not); output 1: no answer
const r = $input.first().json;
const url = __BASE__;
if (r.statusCode === undefined) {
  const why = (r.error && (r.error.message || r.error)) || 'no response';
  return [{ json: { ok: false, alert: true, reachable: false, status: 'unreachable', url,
    down: [], text: `agent-service at ${url} is unreachable: ${why}` } }];
}
const body = typeof r.body === 'string' ? JSON.parse(r.body || '{}') : (r.body || {});
const down = Object.entries(body.components || {})
  .filter(([, c]) => c.status === 'down')
  .map(([name, c]) => `${name}: ${c.detail || 'down'}`);
const ready = r.statusCode === 200;
const status = body.status || String(r.statusCode);
const text = ready ? `agent-service at ${url} is ready`
  : `agent-service at ${url} is NOT ready (HTTP ${r.statusCode}): `
    + (down.join('; ') || 'see /ready');
return [{ json: { ok: ready, alert: !ready, reachable: true, status, url, down, text } }];
""",
        )
    )
    f.link(get, verdict, output=0)
    f.link(get, verdict, output=1)
    gate = alert_tail(f, verdict)
    result(
        f,
        "return [{ json: $('Verdict').first().json }];",
        (gate, 1),
        ("Send alert", 0),
    )
    return f


def nightly_discovery() -> Flow:
    f = Flow(
        "nightly-discovery",
        "VECTRA agent: nightly feature discovery",
        "Every night at 03:00: one discovery job per mode of AGENT_MODES over the latest "
        "stored rounds, polled to completion; the predictive features per target.",
    )
    modes = f.started(
        schedule("Every night", {"field": "days", "daysInterval": 1, "triggerAtHour": 3}),
        code(
            "Modes",
            "return __MODES__.map(mode => ({ json: { mode } }));",
        ),
    )
    submit = f.add(
        http(
            f,
            "POST",
            "/v1/features/discover",
            name="Discover",
            body="JSON.stringify({ mode: $json.mode, targets: ['rug_within', 'next_return_size'], "
            "rounds: Number($env.AGENT_DISCOVERY_ROUNDS || 1000) })",
        )
    )
    f.link(modes, submit)
    job_flow(
        f,
        submit,
        max_polls=120,
        result_js=outcome(
            job_summary="(j.result.targets || []).map(t => ({ target: t.target, "
            "predictive: (t.features || []).filter(x => x.predictive).map(x => x.name) }))"
        ),
    )
    return f


def advice_refresh() -> Flow:
    f = Flow(
        "advice-refresh",
        "VECTRA agent: hybrid advice refresh",
        "Every six hours: recompute each mode's regime advice (a job per mode, polled), "
        "then read back what the hybrid policy now uses.",
    )
    modes = f.started(
        schedule("Every six hours", {"field": "hours", "hoursInterval": 6}),
        code("Modes", "return __MODES__.map(mode => ({ json: { mode } }));"),
    )
    submit = f.add(
        http(
            f,
            "POST",
            "/v1/hybrid/advice",
            name="Refresh",
            body="JSON.stringify({ mode: $json.mode })",
        )
    )
    f.link(modes, submit)
    job_flow(
        f,
        submit,
        max_polls=60,
        result_js=outcome(
            job_summary="{ mode: j.result.mode, model_version: j.result.model_version, "
            "guidance: j.result.guidance }"
        ),
    )
    return f


def opponents_refit() -> Flow:
    f = Flow(
        "opponents-refit",
        "VECTRA agent: opponent model refit",
        "Every night at 04:00: refit player profiles, archetypes and the next-action model "
        "(a job, polled), then report the model's evaluation.",
    )
    submit = f.started(
        schedule("Every night", {"field": "days", "daysInterval": 1, "triggerAtHour": 4}),
        http(f, "POST", "/v1/opponents/fit", name="Refit", body="JSON.stringify({})"),
    )
    job_flow(
        f,
        submit,
        max_polls=120,
        follow_up=http(f, "GET", "/v1/opponents/model", name="Model evaluation"),
        result_js=outcome(
            follow_up=True, answer_ok="j.fitted_at !== undefined || j.evaluation !== undefined"
        ),
    )
    return f


def tournament() -> Flow:
    f = Flow(
        "tournament-latest",
        "VECTRA agent: tournament of the latest policies",
        "Every day at 05:00: the latest trained policies of each mode against that mode's "
        "baseline, the hybrid policy and the oracle, on common rounds with sequential tests "
        "(a job, polled); then the ranking.",
    )
    policies = f.started(
        schedule("Every day", {"field": "days", "daysInterval": 1, "triggerAtHour": 5}),
        http(f, "GET", "/v1/policies", name="Policies"),
    )
    entrants = f.add(
        code(
            "Entrants",
            """
// per mode: the N latest trained policies, the mode's baseline, the hybrid and the oracle
const latest = Number($env.AGENT_TOURNAMENT_POLICIES || 3);
const rounds = Number($env.AGENT_TOURNAMENT_ROUNDS || 20000);
const all = $input.first().json.policies || [];
return __MODES__.map(mode => {
  const trained = all.filter(p => p.mode === mode && !p.builtin)
    .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, latest);
  const entrants = [
    { name: `baseline:${mode}`, kind: 'policy', policy_id: `baseline:${mode}` },
    // an entrant's name is 1-40 of [A-Za-z0-9_.:+-]; a policy's own name may hold spaces
    ...trained.map((p, i) => ({
      name: `${i + 1}:${String(p.name || p.id).replace(/[^A-Za-z0-9_.:+-]+/g, '-')}`.slice(0, 40),
      kind: 'policy', policy_id: p.id })),
    { name: 'hybrid', kind: 'hybrid', policy_id: `baseline:${mode}` },
    { name: 'oracle', kind: 'oracle' },
  ];
  return { json: { mode, max_rounds: rounds, entrants } };
});
""",
        )
    )
    f.link(policies, entrants)
    submit = f.add(http(f, "POST", "/v1/tournaments", name="Start", body="JSON.stringify($json)"))
    f.link(entrants, submit)
    job_flow(
        f,
        submit,
        max_polls=180,
        follow_up=http(
            f,
            "GET",
            "/v1/tournaments/{{ $json.job_id }}",  # a tournament's id is its job's
            name="Standings",
        ),
        result_js=outcome(
            follow_up=True,
            answer_ok="Boolean(j.result && Array.isArray(j.result.ranking))",
            answer="{ status: j.result.status, ranking: j.result.ranking }",
        ),
    )
    return f


TAMPERED = {
    # a real round (docs/fairness.md) with the hash of another seed: a verdict that fails
    "server_seed": "f36a8c180419a621ddb4d2e8add86b5956fea7fefcabca1c44c8d27449df65e8",
    "game_id": "20251207-353b3eb587dd470c",
    "server_seed_hash": "0" * 64,
}


def verification_alert() -> Flow:
    f = Flow(
        "verification-alert",
        "VECTRA agent: verification-failure alert",
        "Listens on the agent.events exchange for game.verification_failed and alerts; "
        "Run now verifies a deliberately tampered round to test the alert path.",
    )
    listen = f.add(
        {
            "name": "On game.verification_failed",
            "type": "n8n-nodes-base.rabbitmqTrigger",
            "typeVersion": 1,
            "parameters": {
                "queue": "n8n.verification_failed",
                "options": {
                    "assertExchange": True,
                    "assertQueue": True,
                    "durable": True,
                    "jsonParseBody": True,
                    "onlyContent": True,
                    "binding": {
                        "bindings": [
                            {
                                "exchange": "={{ $env.AGENT_AMQP_EVENTS_EXCHANGE"
                                " || 'agent.events' }}",
                                "routingKey": "game.verification_failed",
                            }
                        ]
                    },
                },
            },
            "credentials": {
                "rabbitmq": {"id": RABBITMQ_CREDENTIAL_ID, "name": RABBITMQ_CREDENTIAL_NAME}
            },
        }
    )
    now = f.add(manual(), row=1)
    tampered = f.add(
        http(
            f,
            "POST",
            "/v1/games/verify",
            name="Verify a tampered round",
            body=f"JSON.stringify({json.dumps(TAMPERED)})",
        ),
        row=1,
    )
    f.link(now, tampered)
    fmt = f.add(
        code(
            "Format alert",
            """
// the event (tools/verification.py) and the /v1/games/verify answer share these fields
return $input.all().map(item => {
  const v = item.json;
  const failed = v.hash_ok === false || v.replay_ok === false;
  const parts = [];
  if (v.hash_ok === false) parts.push('the seed does not hash to the published hash');
  if (v.replay_ok === false) {
    parts.push(`replayed prices differ (first at tick ${v.first_diff_tick})`);
  }
  if (v.reason) parts.push(v.reason);
  return { json: { ok: failed, alert: failed, game_id: v.game_id, mode: v.mode || null,
    hash_ok: v.hash_ok, replay_ok: v.replay_ok,
    text: failed ? `round ${v.game_id} FAILED provably-fair verification: ${parts.join('; ')}`
                 : `round ${v.game_id} verified` } };
});
""",
        )
    )
    f.link(listen, fmt)
    f.link(tampered, fmt)
    gate = alert_tail(f, fmt)
    result(
        f,
        "return $('Format alert').all().map(i => ({ json: i.json }));",
        (gate, 1),
        ("Send alert", 0),
    )
    return f


def daily_report() -> Flow:
    f = Flow(
        "daily-report",
        "VECTRA agent: daily report",
        "Every day at 07:00: readiness, the hybrid policy's decisions and overrides of the "
        "last 24 hours per bot, language-model spend against the caps, training runs and "
        "policies; posted to AGENT_ALERT_WEBHOOK_URL when set.",
    )
    ready = f.started(
        schedule("Every day", {"field": "days", "daysInterval": 1, "triggerAtHour": 7}),
        http(
            f, "GET", "/ready", name="Ready", full_response=True, on_error="continueRegularOutput"
        ),
    )
    calls = [
        f.add(http(f, "GET", "/v1/info", name="Info")),
        f.add(http(f, "GET", "/v1/hybrid/stats?since_hours=24", name="Hybrid stats")),
        f.add(http(f, "GET", "/v1/models/status", name="Models status")),
        f.add(http(f, "GET", "/v1/training/runs", name="Training runs")),
        f.add(http(f, "GET", "/v1/policies", name="Policies")),
    ]
    f.chain(ready, *calls)
    compose = f.add(
        code(
            "Compose report",
            """
const ready = $('Ready').first().json;
const info = $('Info').first().json;
const bots = $('Hybrid stats').first().json.bots || [];
const models = $('Models status').first().json;
const runs = $('Training runs').first().json.runs || [];
const policies = $('Policies').first().json.policies || [];
const dayAgo = Date.now() - 24 * 3600 * 1000;
const recent = runs.filter(r => Date.parse(r.created_at) >= dayAgo);
const budget = models.budget || {};
const caps = budget.caps || {};
const report = {
  date: new Date().toISOString().slice(0, 10),
  ready: ready.statusCode === 200,
  version: info.version,
  backends: info.modes || {},
  bots: bots.map(b => ({ mode: b.mode, bot_id: b.bot_id, decisions: b.decisions,
    overrides: b.overrides, override_rate: b.override_rate, override_gain_sol: b.override_gain_sol,
    latency_p95_ms: b.latency_p95_ms })),
  llm: { primary: models.llm, tokens_today: (budget.today || {}).tokens,
    daily_token_cap: caps.daily_tokens, cost_today_usd: (budget.today || {}).cost_usd,
    daily_cost_cap_usd: caps.daily_cost_usd },
  training_runs_24h: { total: recent.length,
    succeeded: recent.filter(r => r.state === 'succeeded').length,
    failed: recent.filter(r => r.state === 'failed').length },
  policies: policies.length,
};
const lines = [`VECTRA agent daily report ${report.date}: ${report.ready ? 'ready' : 'NOT READY'}`];
for (const b of report.bots) {
  lines.push(`${b.bot_id} (${b.mode}): ${b.decisions} decisions, ${b.overrides} overrides, `
    + `gain ${b.override_gain_sol} SOL`);
}
lines.push(`LLM ${report.llm.primary}: ${report.llm.tokens_today} tokens today`);
lines.push(`training runs (24 h): ${recent.length}; policies: ${report.policies}`);
return [{ json: { ok: true, alert: true, report, text: lines.join('\\n') } }];
""",
        )
    )
    f.link(calls[-1], compose)
    gate = alert_tail(f, compose)
    result(
        f,
        "return [{ json: $('Compose report').first().json }];",
        (gate, 1),
        ("Send alert", 0),
    )
    return f


def coach_snapshot() -> Flow:
    f = Flow(
        "coach-snapshot",
        "VECTRA agent: strategy coach snapshot",
        "Every hour: the coach's recommendation per mode at the ticks the bot decides on "
        "(AGENT_COACH_TICKS), to watch the models move as rounds accumulate.",
    )
    states = f.started(
        schedule("Every hour", {"field": "hours", "hoursInterval": 1}),
        code(
            "States",
            """
const ticks = ($env.AGENT_COACH_TICKS || '100,200,300').split(',').map(Number);
return __MODES__.flatMap(mode => ticks.map(tick => ({ json: { mode, tick, price: 1.5 } })));
""",
        ),
    )
    ask = f.add(http(f, "POST", "/v1/coach/strategy", name="Coach", body="JSON.stringify($json)"))
    f.link(states, ask)
    result(
        f,
        """
const asked = $('States').all().map(i => i.json);
return $input.all().map((item, index) => ({ json: {
  ok: Boolean(item.json.recommended_action), ...asked[index],
  recommended_action: item.json.recommended_action, decisive: item.json.decisive,
  margin: item.json.margin, model_version: item.json.model_version,
} }));
""",
        (ask, 0),
    )
    return f


def analyst_explain() -> Flow:
    f = Flow(
        "analyst-explain",
        "VECTRA agent: analyst explains a decision",
        "On demand (or posted by the bot): why an action at a game state was good or bad, "
        "its cost against the best action with an interval, and the counterfactual.",
    )
    now = f.add(manual())
    hook = f.add(
        {
            "name": "Explain webhook",
            "type": "n8n-nodes-base.webhook",
            "typeVersion": 2,
            "parameters": {"httpMethod": "POST", "path": "vectra-explain", "options": {}},
            "webhookId": str(uuid.uuid5(uuid.NAMESPACE_URL, "vectra-explain")),
        },
        row=1,
    )
    sample = f.add(
        code(
            "Decision",
            """
// a webhook posts {state, action, bot_id?, observation?}; Run now explains a sample
const posted = $input.first().json.body;
return [{ json: posted || { state: { mode: 'classic', tick: 230, price: 1.9 }, action: 1 } }];
""",
        )
    )
    f.link(now, sample)
    f.link(hook, sample)
    ask = f.add(
        http(f, "POST", "/v1/analyst/explain", name="Explain", body="JSON.stringify($json)")
    )
    f.link(sample, ask)
    result(
        f,
        """
const e = $input.first().json;
return [{ json: { ok: e.best_action !== undefined, action: e.action, best_action: e.best_action,
  cost: e.cost, cost_ci95: e.cost_ci95, decisive: e.decisive, narrative: e.narrative } }];
""",
        (ask, 0),
    )
    return f


def curriculum_training() -> Flow:
    f = Flow(
        "curriculum-training",
        "VECTRA agent: curriculum training step",
        "Every day at 01:00: ask the curriculum for the scenarios a policy should train on "
        "next, run a training job on them (polled), and report the new policy.",
    )
    ask = f.started(
        schedule("Every day", {"field": "days", "daysInterval": 1, "triggerAtHour": 1}),
        http(
            f,
            "POST",
            "/v1/curriculum/next",
            name="Next scenarios",
            body="JSON.stringify({ mode: $env.AGENT_TRAINING_MODE || 'classic', policy_id: "
            "$env.AGENT_TRAINING_POLICY || null, count: 3, "
            "eval_rounds: Number($env.AGENT_CURRICULUM_EVAL_ROUNDS || 100) })",
            timeout_ms=120000,
        ),
    )
    train = f.add(
        http(
            f,
            "POST",
            "/v1/training/runs",
            name="Train",
            body="JSON.stringify({ mode: $json.mode, name: 'n8n curriculum ' + "
            "new Date().toISOString().slice(0, 10), steps: Number($env.AGENT_TRAINING_STEPS "
            "|| 100000), scenarios: $json.scenarios.map(s => ({ scenario: s.scenario, "
            "weight: s.probability })), warm_start: $env.AGENT_TRAINING_POLICY || null })",
        )
    )
    f.link(ask, train)
    done, left = poll(
        f, train, url="/v1/training/runs/{{ $json.run_id || $json.id }}", max_polls=360
    )
    result(
        f,
        """
return $input.all().map(item => {
  const run = item.json;
  return { json: {
    ok: run.state === 'succeeded' && Boolean(run.policy_id),
    timed_out: !['succeeded', 'failed'].includes(run.state),
    run_id: run.id, state: run.state, error: run.error || null, policy_id: run.policy_id || null,
    scenarios: $('Next scenarios').first().json.scenarios.map(s => s.id),
    last_evaluation: (run.curve || []).slice(-1)[0] || null,
  } };
});
""",
        (done, 0),
        (left, 1),
    )
    return f


def answer_or_job(flow: Flow, source: str, *, max_polls: int, answer_ok: str) -> None:
    """Long answers of these capabilities may come as a job: poll it when so."""
    is_job = flow.add(condition("Is a job?", "Boolean($json.job_id) && !$json.state"))
    flow.link(source, is_job)
    done, left = poll(flow, is_job, url="/v1/jobs/{{ $json.job_id }}", max_polls=max_polls)
    result(flow, outcome(answer_ok=answer_ok), (is_job, 1), (done, 0), (left, 1))


def meta_adapt() -> Flow:
    f = Flow(
        "meta-adapt",
        "VECTRA agent: meta-learning across modes",
        "Every week: for each mode of AGENT_MODES, pooled parameters against the mode's own "
        "fit, the weight on the other modes and the rounds after which its own data dominate.",
    )
    modes = f.started(
        schedule(
            "Every week",
            {"field": "weeks", "weeksInterval": 1, "triggerAtDay": [1], "triggerAtHour": 2},
        ),
        code("Modes", "return __MODES__.map(mode => ({ json: { mode } }));"),
    )
    ask = f.add(
        http(
            f,
            "POST",
            "/v1/meta/adapt",
            name="Adapt",
            body="JSON.stringify({ mode: $json.mode })",
            timeout_ms=120000,
        )
    )
    f.link(modes, ask)
    answer_or_job(f, ask, max_polls=120, answer_ok="Boolean(j.mode && j.hazard)")
    return f


BOT_REWARD = {
    "name": "SidebetV1Env (GAME.md)",
    "terminal": {
        "win": 4.0,
        "loss": -1.0,
        "skip": [
            {"min_ticks": 0, "max_ticks": 199, "reward": 0.0},
            {"min_ticks": 200, "max_ticks": 299, "reward": -0.5},
            {"min_ticks": 300, "reward": -0.75},
        ],
        "settle": "rug",
    },
}


def rewards_review() -> Flow:
    f = Flow(
        "rewards-review",
        "VECTRA agent: reward review",
        "Every week: review the bot's reward (AGENT_REWARD_SPEC, JSON; the SidebetV1Env "
        "reward by default) against the game's true economics: terms that pay for something "
        "other than money, the expected value they cost per round, a corrected reward.",
    )
    modes = f.started(
        schedule(
            "Every week",
            {"field": "weeks", "weeksInterval": 1, "triggerAtDay": [1], "triggerAtHour": 3},
        ),
        code(
            "Reviews",
            "const spec = $env.AGENT_REWARD_SPEC ? JSON.parse($env.AGENT_REWARD_SPEC)\n"
            f"  : {json.dumps(BOT_REWARD)};\n"
            "return __MODES__.map(mode => ({ json: { mode, reward: spec } }));",
        ),
    )
    ask = f.add(
        http(
            f,
            "POST",
            "/v1/rewards/review",
            name="Review",
            body="JSON.stringify($json)",
            timeout_ms=120000,
        )
    )
    f.link(modes, ask)
    answer_or_job(f, ask, max_polls=120, answer_ok="Array.isArray(j.terms)")
    return f


def chat_question() -> Flow:
    f = Flow(
        "chat-question",
        "VECTRA agent: ask in plain language",
        "Every evening (or posted to the webhook): a question to /v1/chat, e.g. how the bot "
        "did today; the answer with its intent, confidence and evidence.",
    )
    evening = f.add(
        schedule("Every evening", {"field": "days", "daysInterval": 1, "triggerAtHour": 20})
    )
    now = f.add(manual(), row=1)
    hook = f.add(
        {
            "name": "Chat webhook",
            "type": "n8n-nodes-base.webhook",
            "typeVersion": 2,
            "parameters": {"httpMethod": "POST", "path": "vectra-chat", "options": {}},
            "webhookId": str(uuid.uuid5(uuid.NAMESPACE_URL, "vectra-chat")),
        },
        row=2,
    )
    question = f.add(
        code(
            "Question",
            """
const posted = $input.first().json.body;
const message = (posted && posted.message) || $env.AGENT_CHAT_QUESTION
  || 'how many rounds did we record today?';
const conversation = posted && posted.conversation_id;
return [{ json: conversation ? { message, conversation_id: conversation } : { message } }];
""",
        )
    )
    for trigger in (evening, now, hook):
        f.link(trigger, question)
    ask = f.add(
        http(f, "POST", "/v1/chat", name="Ask", body="JSON.stringify($json)", timeout_ms=60000)
    )
    f.link(question, ask)
    result(
        f,
        """
const a = $input.first().json;
return [{ json: { ok: typeof a.answer === 'string' && a.answer.length > 0, answer: a.answer,
  intent: a.intent, capability: a.capability, confidence: a.confidence,
  clarification: a.clarification || null, conversation_id: a.conversation_id } }];
""",
        (ask, 0),
    )
    return f


FLOWS = {
    "readiness-watch": (readiness_watch, "vectraReadiness1"),
    "nightly-discovery": (nightly_discovery, "vectraDiscovery1"),
    "advice-refresh": (advice_refresh, "vectraAdvice0001"),
    "opponents-refit": (opponents_refit, "vectraOpponents1"),
    "tournament-latest": (tournament, "vectraTourney001"),
    "verification-alert": (verification_alert, "vectraVerifyAlrt"),
    "daily-report": (daily_report, "vectraReport0001"),
    "coach-snapshot": (coach_snapshot, "vectraCoach00001"),
    "analyst-explain": (analyst_explain, "vectraAnalyst001"),
    "curriculum-training": (curriculum_training, "vectraCurriculum"),
    "meta-adapt": (meta_adapt, "vectraMetaAdapt1"),
    "rewards-review": (rewards_review, "vectraRewards001"),
    "chat-question": (chat_question, "vectraChat000001"),
}


def render(key: str) -> str:
    build, workflow_id = FLOWS[key]
    return json.dumps(build().document(workflow_id), indent=2) + "\n"


def write(keys: Iterable[str] = FLOWS) -> list[Path]:
    written = []
    for key in keys:
        path = HERE / f"{key}.json"
        path.write_text(render(key))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(sys.argv[1:] or FLOWS):
        print(path.relative_to(HERE.parent))
