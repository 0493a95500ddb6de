"""The input rules every endpoint inherits from `parse_body`/`parse_query` (api.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from agent_service.api import NOT_FINITE, _parse, unacceptable_values

PROBLEM = "application/problem+json"
STATE = {"tick": 100, "price": 1.5}
DECIDE = {"state": STATE, "rl_action": "hold", "bot_id": "rules"}
FIT = {
    "bot_id": "rules",
    "feature_names": ["a", "b"],
    "decisions": [{"observation": [i / 60, 1.0], "action": i % 2} for i in range(60)],
}


def _post(client, auth, path, body: bytes | str, content_type="application/json"):
    return client.post(path, data=body, headers=auth, content_type=content_type)


def _fields(response, status=422) -> dict[str, str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return {e["field"]: e["message"] for e in response.json.get("errors") or []}


def test_json_nested_a_thousand_deep_is_400(client, auth):
    deep = '{"state": ' + "[" * 1000 + "]" * 1000 + "}"
    response = _post(client, auth, "/v1/hybrid/decide", deep)
    assert response.status_code == 400 and "nested deeper than 32" in response.json["detail"]
    just_over = {"state": STATE, "rl_action": "hold", "bot_id": "x", "stake": None}
    value: object = 1
    for _ in range(40):
        value = [value]
    just_over["state"] = {**STATE, "leaderboard": [{"id": "p", "deep": value}]}
    assert _post(client, auth, "/v1/hybrid/decide", json.dumps(just_over)).status_code == 400


@pytest.mark.parametrize("bad", ["a\u0000b", "\ud800"])
def test_nul_and_lone_surrogates_are_422_naming_the_field(client, auth, bad):
    body = json.dumps({**FIT, "feature_names": ["a", bad]})  # ASCII: \\u escapes
    fields = _fields(_post(client, auth, "/v1/analyst/fit", body))
    assert list(fields) == ["feature_names.1"]
    assert "NUL" in fields["feature_names.1"] or "surrogate" in fields["feature_names.1"]
    key = json.dumps({**DECIDE, "state": {**STATE, "leaderboard": [{"id": "p", bad: 1}]}})
    assert _fields(_post(client, auth, "/v1/hybrid/decide", key))


def test_lists_of_numbers_pass_in_one_sum_yet_the_item_at_fault_is_named():
    nan, inf = float("nan"), float("inf")
    body = {
        "fine": [1.0, 2, True, -3.5],
        "sum_overflows": [1e308, 1e308],  # finite items: the walk item by item accepts them
        "bad": [0.5, nan, -inf],
        "mixed": ["x", 1.0, inf, [nan]],
    }
    found = {e.field: e.message for e in unacceptable_values(body)}
    assert found == {
        "bad.1": NOT_FINITE,
        "bad.2": NOT_FINITE,
        "mixed.2": NOT_FINITE,
        "mixed.3.0": NOT_FINITE,
    }


def test_what_orjson_reads_is_sound_unless_a_nul_escape_may_hide_in_it():
    assert _parse(b'{"a": [1.5, 2], "b": "\\u00e9t\\u00e9"}') == ({"a": [1.5, 2], "b": "été"}, True)
    # a text holding backslash-u0000 (no NUL): a false alarm, the full check passes it
    data, sound = _parse(b'{"a": "\\\\u0000"}')
    assert data == {"a": "\\u0000"} and not sound and not list(unacceptable_values(data))
    data, sound = _parse(b'{"a": "x\\u0000"}')
    assert not sound and [e.field for e in unacceptable_values(data)] == ["a"]
    # what orjson refuses or would read otherwise goes to the standard parser: checked whole
    assert _parse(b'{"a": 123456789012345678901}') == ({"a": 123456789012345678901}, False)
    assert _parse(b'{"a": NaN}')[1] is False


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_422_saying_so(client, auth, constant):
    body = (
        '{"state": {"tick": 100, "price": NUMBER}, "action": "hold", "reward": NUMBER}'
    ).replace("NUMBER", constant)
    fields = _fields(_post(client, auth, "/v1/analyst/explain", body))
    assert set(fields) == {"state.price", "reward"}
    assert all("finite" in message for message in fields.values())


def test_booleans_and_numbers_are_not_taken_for_each_other(client, auth):
    as_bool = {**DECIDE, "state": {**STATE, "tick": True}}
    assert "state.tick" in _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(as_bool)))
    as_int = {**DECIDE, "one_sidebet_per_round": 1}
    fields = _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(as_int)))
    assert "one_sidebet_per_round" in fields
    env_action = {**DECIDE, "rl_action": True}
    assert _post(client, auth, "/v1/hybrid/decide", json.dumps(env_action)).status_code == 422
    as_string = {**DECIDE, "state": {**STATE, "tick": "100"}}
    assert "state.tick" in _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(as_string)))
    integral = {**DECIDE, "state": {**STATE, "tick": 100.0}}  # JSON Schema: an integer
    assert _post(client, auth, "/v1/hybrid/decide", json.dumps(integral)).status_code == 200
    fraction = {**DECIDE, "state": {**STATE, "tick": 100.5}}
    assert "state.tick" in _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(fraction)))
    # past 64 bits: read exactly (a fast parser would make it a float), refused by its bound
    huge = {**DECIDE, "state": {**STATE, "tick": 10**30}}
    assert "state.tick" in _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(huge)))
    with_integral_price = {**DECIDE, "state": {**STATE, "tick": 100.0, "price": 2.0}}
    assert (
        _post(client, auth, "/v1/hybrid/decide", json.dumps(with_integral_price)).status_code == 200
    )


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_not_sent_as_json_is_415(client, auth, content_type):
    response = _post(client, auth, "/v1/hybrid/decide", json.dumps(DECIDE), content_type)
    assert response.status_code == 415 and response.mimetype == PROBLEM


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_and_plus_json_types_are_accepted(client, auth, content_type):
    response = _post(client, auth, "/v1/hybrid/decide", json.dumps(DECIDE), content_type)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_cross_field_rules_are_422_and_in_the_spec(client, auth):
    future = {**DECIDE, "state": {**STATE, "sidebet": {"start_tick": 101, "amount": 0.01}}}
    fields = _fields(_post(client, auth, "/v1/hybrid/decide", json.dumps(future)))
    assert "after the current tick" in fields["state.sidebet"]
    observed = {"state": STATE, "action": "hold", "observation": [0.1]}
    fields = _fields(_post(client, auth, "/v1/analyst/explain", json.dumps(observed)))
    assert any("bot_id" in m for m in fields.values())
    repeated = {"targets": ["rug_within", "rug_within"]}
    assert _fields(_post(client, auth, "/v1/features/discover", json.dumps(repeated)))

    schemas = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))["components"]
    schemas = schemas["schemas"]
    assert any("start_tick" in r for r in schemas["GameState"]["x-cross-field-rules"])
    assert schemas["ExplainRequest"]["dependentRequired"] == {"observation": ["bot_id"]}
    assert schemas["DiscoverRequest"]["properties"]["targets"]["uniqueItems"] is True
    assert schemas["FitRequest"]["x-cross-field-rules"]


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "-Infinity"])
def test_non_finite_query_numbers_are_422(client, auth, value):
    response = client.get(f"/v1/hybrid/stats?since_hours={value}", headers=auth)
    assert "finite" in _fields(response)["query.since_hours"]


def test_text_query_parameters_may_read_like_numbers(client, auth):
    """`sources=nan` names a mode (a well-formed one): only number parameters must be finite."""
    response = client.get("/v1/meta/adapt/sidebet/chart.svg?sources=nan", headers=auth)
    assert response.status_code != 422, response.get_data(as_text=True)
