"""The README documents every setting, opens with the two commands, and its service
examples run as written."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from agent_service.config import Settings, env_name

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [env_name(f) for f in Settings.model_fields if f"`{env_name(f)}`" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_opens_with_serve_and_test_commands():
    first_block = README.split("```")[1]
    assert "make serve" in first_block and "make test" in first_block


def service_examples(readme: str) -> list[str]:
    """The README's shell blocks that talk to the service (they name localhost:8000)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, flags=re.S | re.M)
    return [block for block in blocks if "localhost:8000" in block]


def test_every_service_example_runs_as_written(tmp_path, pg_admin_dsn):
    """The examples run in order, as one shell script, in the folder where `serve` put
    data/api_key, against a live service; only the port differs (a free one). Every curl
    must get a 2xx: a wrapper adds --fail-with-body, and the script stops on the first
    failure."""
    from tests.conftest import create_database, drop_database
    from tests.support.process import cli_env, start_cli, wait_http
    from tests.support.tcp_proxy import free_port

    examples = service_examples(README)
    assert len(examples) >= 2
    port = free_port()
    dsn = create_database(pg_admin_dsn)
    env = cli_env(DATABASE_URL=dsn, AGENT_PORT=str(port), AGENT_LOG_LEVEL="WARNING")
    proc = start_cli("serve", env=env, cwd=tmp_path, log=tmp_path / "serve.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", within=90, proc=proc)
        script = "\n".join(
            [
                "set -euo pipefail",
                'curl() { command curl --fail-with-body --max-time 60 "$@"; echo; }',
                *(block.replace("localhost:8000", f"localhost:{port}") for block in examples),
            ]
        )
        ran = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        assert '"status":"ok"' in ran.stdout.replace(" ", "")
        assert '"action"' in ran.stdout  # the hybrid's decision came back
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        drop_database(pg_admin_dsn, dsn)
