"""The committed openapi.yaml matches the app, and the app honours it under fuzzing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as fuzz_settings
from hypothesis.errors import Unsatisfiable
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from agent_service.api import decode_json
from agent_service.openapi import render_spec
from capabilities.engines.rules import DOCUMENTED_REFUSALS
from tests.conftest import API_KEY, make_settings
from tests.support.jobs import delete_queues, unique_queue

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"


@pytest.fixture
def settings(tmp_path, fresh_pg_dsn, amqp_url):  # type: ignore[no-untyped-def]
    """A database of its own and a job queue nobody consumes: the fuzzer's jobs (training
    runs with random budgets among them) are accepted and stored, never run."""
    names = unique_queue()
    yield make_settings(tmp_path, fresh_pg_dsn, amqp_url=amqp_url, jobs_queue=names.queue)
    delete_queues(amqp_url, names)


def test_committed_spec_matches_the_app(app):
    assert COMMITTED.read_text() == render_spec(app), (
        "openapi.yaml is stale: run `agent-service openapi` and commit the result"
    )


def test_served_spec_is_the_committed_one(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    spec = yaml.safe_load(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    assert response.get_data(as_text=True) == COMMITTED.read_text()


def _request_models(app, operation) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """(body model, query model) of an operation."""
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(_example_path(operation.path), method=operation.method.upper())
    op = getattr(app.view_functions[endpoint], "operation", None)
    return (op.request, op.query) if op is not None else (None, None)


def _example_path(template: str) -> str:
    """A concrete path of a template: every parameter (job, run, policy id) a UUID."""
    return re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", template)


def _breaks_only_documented_rules(models, body: object, query: object) -> bool:
    """Schema-valid data that a rule JSON Schema cannot state refuses (a rule across
    fields, listed in the model's x-cross-field-rules; a well-formed mode name that names
    no mode): a 422 there is the contract."""
    body_model, query_model = models
    try:
        if body_model is not None and isinstance(body, dict):
            body_model.model_validate_json(decode_json(json.dumps(body).encode())[1], strict=True)
        if query_model is not None and isinstance(query, dict):
            query_model.model_validate({k: str(v) for k, v in query.items()})
    except ValidationError as exc:
        return all(err["type"] in DOCUMENTED_REFUSALS for err in exc.errors())
    return False


def test_no_5xx_and_responses_match_the_spec(app):
    """Schemathesis generates requests for every operation, schema-valid and not; every
    check runs (positive data acceptance included): each response is declared in the spec
    and matches its schema, valid data is accepted, invalid data refused, and none is a
    5xx. AGENT_FUZZ_EXAMPLES raises the budget (CI: 12 of each kind per operation)."""
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    # the spec's info.description: no string may hold NUL (test_input_rules checks the 422)
    schema.config.generation.update(allow_x00=False)
    # a body over AGENT_MAX_BODY_BYTES gets 413 (declared for every operation with a body)
    # whether or not its schema is valid: 20,000 logged decisions do not fit in 1 MiB
    checks = schema.config.checks
    for check in (checks.positive_data_acceptance, checks.negative_data_rejection):
        check.expected_statuses = [*check.expected_statuses, "413"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4
    examples = int(os.environ.get("AGENT_FUZZ_EXAMPLES", "12"))
    ran = {"cases": 0, "documented_422": 0}
    for operation in operations:
        model = _request_models(app, operation)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, model, examples, ran)
                print(operation.label, mode.value, ran["cases"], flush=True)
            except Unsatisfiable:
                assert not mode.is_positive  # no parameter or body to make invalid
    print(f"fuzzed {ran['cases']} cases over {len(operations)} operations", ran)


def _fuzz(operation, mode, model, examples: int, ran: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @fuzz_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=(Phase.explicit, Phase.generate),  # schemathesis's draws do not replay to shrink
        # the same draws every run, so a CI verdict is reproducible; AGENT_FUZZ_RANDOM=1
        # (with a larger AGENT_FUZZ_EXAMPLES) hunts with new ones
        derandomize=os.environ.get("AGENT_FUZZ_RANDOM") != "1",
    )
    def check(case):
        documented = mode.is_positive and _breaks_only_documented_rules(
            model, case.body, case.query
        )
        excluded = [positive_data_acceptance] if documented else []
        # a negative case may leave the key out on purpose (a 401 then); otherwise send it
        headers_invalid = any(
            location.value == "header" and not info.mode.is_positive
            for location, info in case.meta.components.items()
        )
        auth = {} if headers_invalid else headers
        response = case.call_and_validate(headers=auth, excluded_checks=excluded)
        assert response.status_code < 500, (case.operation.label, response.text)
        if documented:
            assert response.status_code == 422, (case.operation.label, response.text)
            ran["documented_422"] += 1
        ran["cases"] += 1

    check()
