"""The shipped n8n workflows are importable and call endpoints that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "n8n_workflows").glob("*.json"))
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
_PATH = re.compile(r"(?:\}\}|https?://[^/]+)(/[^\s\"'?}]*)")


def _route_exists(method: str, path: str) -> bool:
    for template, operations in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, re.sub(r"\{\{[^}]*\}\}", "x", path)) and method.lower() in operations:
            return True
    return False


def test_there_are_workflows():
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_structure(path):
    workflow = json.loads(path.read_text())
    names = [node["name"] for node in workflow["nodes"]]
    assert len(names) == len(set(names)), "node names must be unique"
    assert len({node["id"] for node in workflow["nodes"]}) == len(names)
    for node in workflow["nodes"]:
        assert node["type"].startswith("n8n-nodes-base.")
        assert isinstance(node["typeVersion"], int | float)
        assert len(node["position"]) == 2
    for source, outputs in workflow["connections"].items():
        assert source in names
        for branch in outputs["main"]:
            for link in branch:
                assert link["node"] in names
    triggers = [n for n in workflow["nodes"] if "Trigger" in n["type"] or "webhook" in n["type"]]
    assert triggers, "a workflow needs a trigger"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_http_nodes_call_documented_routes(path):
    workflow = json.loads(path.read_text())
    for node in workflow["nodes"]:
        if node["type"] != "n8n-nodes-base.httpRequest":
            continue
        params = node["parameters"]
        match = _PATH.search(params["url"])
        assert match, params["url"]
        route = match.group(1)
        assert _route_exists(params.get("method", "GET"), route), (node["name"], route)
        if route.startswith("/v1/"):
            assert params.get("authentication") == "genericCredentialType"
            assert params.get("genericAuthType") == "httpHeaderAuth"
