"""Runs every workflow of this folder in a real n8n against a running service and checks
what its `Result` node returned. Called by `verify.sh` (which installs n8n); standard
library only.

    python3 n8n_workflows/verify.py --n8n /path/to/node_modules/.bin/n8n [NAME ...]

Per workflow: every route it calls must be in the service's /openapi.yaml (else FAIL,
naming the route), `n8n execute` must succeed, the last node run must be `Result`, and
every item of every run of `Result` must say `"ok": true`. The readiness watch is run a
second time against a closed port and must then alert `unreachable`. Exit 0 only when
every workflow passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_credentials import credentials  # noqa: E402

_TEMPLATE_PARAM = re.compile(r"\\\{[^}/]+\\\}")  # a {param} of a path, once re.escape()d
_EXPRESSION = re.compile(r"\{\{.*?\}\}")
UNREACHABLE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens there


@dataclass
class Outcome:
    name: str
    passed: bool
    seconds: float
    detail: str


def served_routes(service_url: str) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation in the service's OpenAPI document; a
    line-based read, so no YAML parser is needed."""
    with urllib.request.urlopen(f"{service_url}/openapi.yaml", timeout=10) as response:
        text = response.read().decode()
    routes, path = set(), None
    for line in text.splitlines():
        if re.match(r"^  /\S*:$", line):
            path = line.strip()[:-1]
        elif path and re.match(r"^    (get|post|put|patch|delete):$", line):
            routes.add((line.strip()[:-1].upper(), path))
        elif re.match(r"^\S", line):
            path = None
    return routes


def route_served(endpoint: str, routes: set[tuple[str, str]]) -> bool:
    method, path = endpoint.split(" ", 1)
    concrete = _EXPRESSION.sub("x", path)
    for served_method, template in routes:
        pattern = "^" + _TEMPLATE_PARAM.sub("[^/]+", re.escape(template)) + "$"
        if served_method == method and re.match(pattern, concrete):
            return True
    return False


def run_data(stdout: str) -> dict[str, Any]:
    """The execution JSON `n8n execute --rawOutput` prints (after any log lines)."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line == "{":  # a failed run prints its error's stack after the JSON: stop there
            data, _ = json.JSONDecoder().raw_decode("\n".join(lines[index:]))
            return data
    raise ValueError("n8n printed no execution data")


def result_items(execution: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    data = execution.get("data", execution)
    result_data = data.get("resultData", {})
    runs = result_data.get("runData", {}).get("Result", [])
    items = [
        item.get("json", {})
        for run in runs
        for output in (run.get("data") or {}).get("main", [])
        for item in output or []
    ]
    return result_data.get("lastNodeExecuted"), items


def execution_error(execution: dict[str, Any]) -> str:
    error = execution.get("data", execution).get("resultData", {}).get("error") or {}
    return str(error.get("message") or error.get("description") or "no Result")


def execute(
    n8n: str, workflow_id: str, env: dict[str, str], timeout_s: float
) -> tuple[int, str, str]:
    """`n8n execute --rawOutput`; its output goes to files, because node exits before a
    pipe has taken all of a large write."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run(
            [n8n, "execute", f"--id={workflow_id}", "--rawOutput"],
            env=env,
            stdout=out,
            stderr=err,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read()


def verdict(
    name: str,
    workflow: dict[str, Any],
    n8n: str,
    env: dict[str, str],
    routes: set[tuple[str, str]],
    timeout_s: float,
    expect_unreachable: bool = False,
) -> Outcome:
    started = time.monotonic()
    missing = [e for e in workflow["meta"]["vectra"]["endpoints"] if not route_served(e, routes)]
    if missing and not expect_unreachable:
        return Outcome(name, False, 0.0, "the service does not serve " + ", ".join(missing))
    try:
        code, stdout, stderr = execute(n8n, workflow["id"], env, timeout_s)
    except subprocess.TimeoutExpired:
        return Outcome(name, False, time.monotonic() - started, f"no end within {timeout_s:.0f} s")
    seconds = time.monotonic() - started
    try:
        execution = run_data(stdout)
        last, items = result_items(execution)
    except ValueError as exc:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        return Outcome(name, False, seconds, f"exit {code}: {exc}: {' | '.join(tail)}")
    if last != "Result" or not items:
        error = execution_error(execution)
        return Outcome(name, False, seconds, f"stopped at {last!r}: {error}"[:400])
    if expect_unreachable:
        passed = all(i.get("alert") is True and i.get("status") == "unreachable" for i in items)
    else:
        passed = all(i.get("ok") is True for i in items)
    detail = json.dumps(items if len(json.dumps(items)) < 400 else items[:1])[:400]
    return Outcome(name, passed, seconds, detail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n8n", required=True, help="the n8n executable")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per workflow")
    parser.add_argument("names", nargs="*", help="workflow files (stem) to run; default all")
    args = parser.parse_args()

    service_url = os.environ.get("AGENT_SERVICE_URL", "").rstrip("/")
    if not service_url:
        raise SystemExit("AGENT_SERVICE_URL is not set (e.g. http://127.0.0.1:8000)")
    paths = sorted(HERE.glob("*.json"))
    paths = [p for p in paths if p.name != "credentials.template.json"]
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    workflows = {p.stem: json.loads(p.read_text()) for p in paths}

    folder = Path(tempfile.mkdtemp(prefix="vectra-n8n-"))
    env = {
        **os.environ,
        "N8N_USER_FOLDER": str(folder),
        "N8N_ENCRYPTION_KEY": secrets.token_hex(16),
        "N8N_BLOCK_ENV_ACCESS_IN_NODE": "false",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_PERSONALIZATION_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true",
        "AGENT_SERVICE_URL": service_url,
        "AGENT_POLL_SECONDS": os.environ.get("AGENT_POLL_SECONDS", "2"),
        # small work by default: this checks the workflows, not the capabilities' figures
        "AGENT_TRAINING_STEPS": os.environ.get("AGENT_TRAINING_STEPS", "4096"),
        "AGENT_CURRICULUM_EVAL_ROUNDS": os.environ.get("AGENT_CURRICULUM_EVAL_ROUNDS", "50"),
        "AGENT_DISCOVERY_ROUNDS": os.environ.get("AGENT_DISCOVERY_ROUNDS", "200"),
        "AGENT_TOURNAMENT_ROUNDS": os.environ.get("AGENT_TOURNAMENT_ROUNDS", "2000"),
    }
    creds = folder / "credentials.json"
    creds.write_text(json.dumps(credentials(env)))
    version = subprocess.run([args.n8n, "--version"], env=env, capture_output=True, text=True)
    print(f"n8n {version.stdout.strip()}, user folder {folder}, service {service_url}")
    subprocess.run(
        [args.n8n, "import:credentials", f"--input={creds}"],
        env=env,
        check=True,
        capture_output=True,
    )
    for path in paths:
        subprocess.run(
            [args.n8n, "import:workflow", f"--input={path}"],
            env=env,
            check=True,
            capture_output=True,
        )
    print(f"imported 2 credentials and {len(paths)} workflows")

    routes = served_routes(service_url)
    outcomes = []
    for name, workflow in workflows.items():
        outcomes.append(verdict(name, workflow, args.n8n, env, routes, args.timeout))
        print(_line(outcomes[-1]), flush=True)
        if name == "readiness-watch":
            down = {**env, "AGENT_SERVICE_URL": UNREACHABLE_URL}
            outcomes.append(
                verdict(
                    f"{name} (service unreachable)",
                    workflow,
                    args.n8n,
                    down,
                    routes,
                    args.timeout,
                    expect_unreachable=True,
                )
            )
            print(_line(outcomes[-1]), flush=True)
    failed = [o for o in outcomes if not o.passed]
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} passed")
    return 1 if failed else 0


def _line(o: Outcome) -> str:
    return f"{'PASS' if o.passed else 'FAIL'}  {o.name:<40} {o.seconds:6.1f} s  {o.detail}"


if __name__ == "__main__":
    sys.exit(main())
