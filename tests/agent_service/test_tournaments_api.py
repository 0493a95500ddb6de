"""Tournaments through the API (in-process jobs): tiny budgets, every entrant kind."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support.jobs import follow_job

BASELINES = Path(__file__).resolve().parents[2] / "game" / "baselines"


def _run(client, auth, spec):
    r = client.post("/v1/tournaments", json=spec, headers=auth)
    assert r.status_code == 202, r.json
    assert r.headers["Location"] == r.json["tournament_url"]
    job = follow_job(client, auth, r.json["status_url"], within=120)
    assert job["state"] == "succeeded", job
    return client.get(r.json["tournament_url"], headers=auth).json, job


def test_every_kind_plays_the_same_rounds_and_an_aa_pair_is_not_declared_different(client, auth):
    zipped = base64.b64encode((BASELINES / "rising_hazard.zip").read_bytes()).decode()
    spec = {
        "mode": "rising_hazard",
        "seed": 3,
        "max_rounds": 1200,
        "chunk_rounds": 400,
        "sprt": {"h1": 0.2, "min_rounds": 50},
        "entrants": [
            {"kind": "oracle", "name": "oracle"},
            {"kind": "policy", "name": "ppo", "policy_id": "baseline:rising_hazard"},
            {"kind": "sb3", "name": "ppo_upload", "file": zipped},
            {"kind": "hybrid", "name": "hybrid", "policy_id": "baseline:rising_hazard",
             "models": "rules", "thresholds": {"override_confidence": 0.7}},
            {"kind": "archetype", "name": "late", "archetype": "conservative",
             "params": {"min_tick": 260, "min_drawdown": 0.2}},
            {"kind": "persona", "name": "regular", "persona": "sidebet_regular"},
        ],
    }  # fmt: skip
    body, job = _run(client, auth, spec)
    result = body["result"]
    assert result["status"] in ("decided", "budget_exhausted")
    assert 0 < result["rounds"] <= 1200 and result["rounds"] % 400 == 0
    assert job["result"]["ranking"] == result["ranking"]
    names = {e["name"]: e for e in result["entrants"]}
    assert set(names) == {"oracle", "ppo", "ppo_upload", "hybrid", "late", "regular"}
    for e in result["entrants"]:
        assert e["pnl"]["low"] <= e["pnl"]["mean"] <= e["pnl"]["high"]
        assert e["rank_range"][0] <= e["rank"] <= e["rank_range"][1]
    # the uploaded zip is the stored baseline: identical on every round (A/A), never
    # declared different
    pair = next(p for p in result["pairs"] if {p["a"], p["b"]} == {"ppo", "ppo_upload"})
    assert pair["diff"]["mean"] == 0.0 and pair["verdict"] in ("no_difference", "undecided")
    assert names["ppo"]["pnl"] == names["ppo_upload"]["pnl"]
    assert any("ppo" in g and "ppo_upload" in g for g in result["ranking"])
    assert "file" not in str(body["spec"]["entrants"][2]["file"][:5])  # redacted

    svg = client.get(body["intervals_svg_url"], headers=auth)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"oracle" in svg.data and b"<circle" in svg.data
    listed = client.get("/v1/tournaments?limit=5", headers=auth).json["tournaments"]
    assert body["id"] in [t["id"] for t in listed]


def test_a_tournament_over_budget_stops_with_what_it_has(client, auth):
    spec = {
        "mode": "classic",
        "max_rounds": 300,
        "chunk_rounds": 150,
        "sprt": {"h1": 0.01},
        "entrants": [
            {"kind": "archetype", "name": "a", "archetype": "aggressive"},
            {"kind": "archetype", "name": "b", "archetype": "random", "params": {"p": 0.02}},
        ],
    }
    body, _ = _run(client, auth, spec)
    result = body["result"]
    assert result["status"] == "budget_exhausted" and result["rounds"] == 300
    assert result["pairs"][0]["verdict"] == "undecided"
    assert result["ranking"] == [[result["entrants"][0]["name"], result["entrants"][1]["name"]]]


def test_bad_entrants_are_422_naming_them(client, auth):
    base = {"kind": "oracle", "name": "o"}
    cases = [
        ({"kind": "wizard", "name": "w"}, "entrants.1"),
        ({"kind": "sb3", "name": "u", "file": base64.b64encode(b"not a zip").decode()},
         "entrants.1.sb3"),
        ({"kind": "sb3", "name": "u", "file": "%%%%"}, "entrants.1.sb3"),
        ({"kind": "archetype", "name": "x", "archetype": "aggressive", "params": {"speed": 1}},
         "entrants.1.archetype"),
        ({"kind": "policy", "name": "p", "policy_id": "nope"}, "entrants.1.policy.policy_id"),
    ]  # fmt: skip
    for entrant, field in cases:
        r = client.post("/v1/tournaments", json={"entrants": [base, entrant]}, headers=auth)
        assert r.status_code == 422, (entrant, r.json)
        fields = [e["field"] for e in r.json["errors"]]
        assert any(f.startswith(field) for f in fields), (field, r.json)
        if entrant["kind"] == "sb3":
            assert "malformed policy file" in str(r.json)
    r = client.post("/v1/tournaments", json={"entrants": [base, base]}, headers=auth)
    assert r.status_code == 422 and "unique" in str(r.json)
    r = client.post(
        "/v1/tournaments",
        json={"entrants": [base, {"kind": "policy", "name": "p", "policy_id": "baseline:nomode"}]},
        headers=auth,
    )
    assert r.status_code == 404
