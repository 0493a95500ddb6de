"""`POST /v1/games/verify`: one round, verdict or replayed path; bad input names the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "real" / "game_history_sample.json"
ROUNDS = json.loads(SAMPLE.read_text())


def _body(entry: dict, **change) -> dict:
    fair = entry["provablyFair"]
    body = {
        "server_seed": fair["serverSeed"],
        "game_id": entry["id"],
        "server_seed_hash": fair["serverSeedHash"],
        "prices": entry["prices"],
        "version": entry["gameVersion"],
    }
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("entry", ROUNDS, ids=[e["id"] for e in ROUNDS])
def test_each_sample_round_verifies(client, auth, entry):
    r = client.post("/v1/games/verify", json=_body(entry), headers=auth)
    assert r.status_code == 200, r.json
    d = r.json
    assert (d["verified"], d["hash_ok"], d["replay_ok"], d["max_abs_diff"]) == (True, True, True, 0)
    assert d["rug_tick"] == len(entry["prices"]) - 1 and d["peak"] == entry["peakMultiplier"]
    assert d["replayed"] is None and d["notes"] == [] and d["version"] == "v3"


def test_a_tampered_price_or_seed_fails_with_the_tick(client, auth):
    entry = ROUNDS[0]
    prices = list(entry["prices"])
    prices[7] *= 1.5
    d = client.post("/v1/games/verify", json=_body(entry, prices=prices), headers=auth).json
    assert (d["verified"], d["replay_ok"], d["first_diff_tick"]) == (False, False, 7)
    wrong = _body(entry, server_seed="0" * 64, version=None)
    d = client.post("/v1/games/verify", json=wrong, headers=auth).json
    assert (d["verified"], d["hash_ok"], d["replay_ok"]) == (False, False, False)
    assert d["version_detected"] is True


def test_without_prices_the_replayed_path_is_returned(client, auth):
    entry = ROUNDS[2]
    body = _body(entry, prices=None, version=None)
    d = client.post("/v1/games/verify", json=body, headers=auth).json
    assert d["replayed"] == {"prices": entry["prices"][:-1], "rug_tick": 89}
    assert (d["replay_ok"], d["verified"], d["hash_ok"]) == (None, False, True)
    assert d["notes"] == ["no version given: engine v3 played"]


def test_an_id_of_another_form_is_replayed_as_given(client, auth):
    body = {"server_seed": "any text", "game_id": "round-42"}
    d = client.post("/v1/games/verify", json=body, headers=auth).json
    assert d["replayed"]["rug_tick"] == d["rug_tick"] >= 1 and d["hash_ok"] is None
    assert "not of the form YYYYMMDD-<16 hex>" in d["notes"][0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"server_seed": ""}, "server_seed"),
        ({"server_seed_hash": "xyz"}, "server_seed_hash"),
        ({"game_id": "has space"}, "game_id"),
        ({"prices": [1.0]}, "prices"),
        ({"prices": [1.0, -2.0, 0.5]}, "prices.1"),
        ({"version": "v4"}, "version"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, auth, change, field):
    r = client.post("/v1/games/verify", json=_body(ROUNDS[0], **change), headers=auth)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json["errors"]]


def test_a_missing_seed_is_422_and_auth_is_required(client, auth):
    r = client.post("/v1/games/verify", json={"game_id": ROUNDS[0]["id"]}, headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "server_seed"
    assert client.post("/v1/games/verify", json=_body(ROUNDS[0])).status_code == 401


def test_the_web_path_replays_without_loading_numba():
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from capabilities.fairness.models import VerifyRequest\n"
        "from capabilities.fairness.service import verify_one\n"
        f"entry = json.load(open({str(SAMPLE)!r}))[1]\n"
        "fair = entry['provablyFair']\n"
        "answer = verify_one(VerifyRequest(server_seed=fair['serverSeed'], game_id=entry['id'],"
        " prices=entry['prices']))\n"
        "assert answer.verified is not None and answer.replay_ok, answer\n"
        "assert 'numba' not in sys.modules and 'llvmlite' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
