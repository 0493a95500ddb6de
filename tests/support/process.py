"""Run the CLI as a real process, with the repository on PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """A clean environment: no AGENT_/backend variables leak in from the caller."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AGENT_")
        and k not in {"DATABASE_URL", "AMQP_URL", "QDRANT_URL", "QDRANT_API_KEY", "HF_TOKEN"}
    }
    keep["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), keep.get("PYTHONPATH")]))
    keep.update(extra)
    return keep


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_service", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, log: Path | None = None
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "agent_service", *args]
    if log is None:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    _LOGS[proc.pid] = log
    return proc


_LOGS: dict[int, Path] = {}  # the log file of each process start_cli started


def _log_tail(proc: subprocess.Popen[str], lines: int = 30) -> str:
    """The end of the process's log, so a failure says why the process stopped."""
    log = _LOGS.get(proc.pid)
    if log is None or not log.exists():
        return ""
    return "; its log ends:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_http(url: str, within: float, proc: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode} before {url} answered{_log_tail(proc)}"
            )
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {within} s")
