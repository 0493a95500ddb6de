"""The shipped units pass `systemd-analyze verify` (where systemd is installed)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_units_exist():
    names = {p.name for p in SERVICES}
    assert {
        "agent-service.service",
        "agent-service-consumer.service",
        "agent-service-worker@.service",
    } <= names


def test_api_unit_is_hardened_and_stops_after_gunicorn_grace():
    service = _unit(UNITS / "agent-service.service")["Service"]
    assert service["Type"] == "notify"
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].startswith("/etc/agent-service/")
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "PrivateTmp": "true",
    }.items():
        assert service[key] == value
    assert service["StateDirectory"] == "agent-service"
    assert service["MemoryMax"]
    graceful_default = 30  # Settings.graceful_timeout_s
    assert int(service["TimeoutStopSec"]) > graceful_default


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_systemd_analyze_verify(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify resolves ExecStart; point it at a stand-in binary inside a copy of the unit
    fake = tmp_path / "agent-service"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    text = unit.read_text().replace("/opt/agent-service/venv/bin/agent-service", str(fake))
    target = tmp_path / (unit.name.replace("@", "@test") if "@" in unit.name else unit.name)
    target.write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(target)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(target.name) in line or "Unknown" in line or "Invalid" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
