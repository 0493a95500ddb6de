"""The start-up warm-up: `/ready` stays 503 until the models are fitted and the
embedding model and knowledge base are loaded, so first requests find them ready."""

from __future__ import annotations

import gc

import pytest

from agent_service.app import create_app
from agent_service.readiness import Check
from agent_service.warmup import WarmUp
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.stored_rounds import store_rounds


@pytest.fixture
def fresh_app(tmp_path, fresh_pg_dsn):  # type: ignore[no-untyped-def]
    application = create_app(make_settings(tmp_path, fresh_pg_dsn))
    store_rounds(fresh_pg_dsn, simulate_rounds(load_mode("fast_rug"), 220, seed=5))
    yield application
    application.extensions["agent"].readiness.close()
    application.extensions["agent"].backends.close()


def test_ready_waits_for_the_warm_up_which_fits_the_models(fresh_app):
    app, client = fresh_app, fresh_app.test_client()
    state = app.extensions["agent"]
    backends = state.backends
    warm = WarmUp(backends, modes=["fast_rug", "classic"])
    with pytest.raises(RuntimeError, match="warming up"):
        warm.probe()
    assert backends.models.peek("fast_rug") is None  # nothing fitted yet (starts a fit)

    warm.start(state.readiness)
    assert warm.join(timeout=60)
    body = client.get("/ready").json
    assert body["components"]["warmup"]["status"] == "up", body
    assert body["components"]["warmup"]["required"] is True
    assert client.get("/ready").status_code == 200
    fitted = backends.models.peek("fast_rug")
    assert fitted is not None and fitted.source == "fitted" and fitted.rounds == 220
    assert "stopping" in vars(fitted)  # the hybrid's waiting table is computed already
    assert backends.models.peek("classic") is not None


def test_a_warm_up_still_running_holds_ready_back(app, client):
    state = app.extensions["agent"]
    warm = WarmUp(state.backends, modes=[])
    warm._step = "models of classic"  # as seen mid-way; the thread is not started
    state.readiness.add("warmup", Check("in-process", True, warm.probe))
    r = client.get("/ready")
    assert r.status_code == 503
    assert r.json["components"]["warmup"] == {
        "status": "down",
        "mode": "in-process",
        "required": True,
        "latency_ms": r.json["components"]["warmup"]["latency_ms"],
        "detail": "RuntimeError: warming up: models of classic",
    }


def test_a_served_worker_freezes_its_start_up_heap_once_warm(app):
    """The served worker's warm-up ends by moving what start-up loaded out of the
    collector's reach (a full collection over it paused requests); other callers do not."""
    state = app.extensions["agent"]
    gc.unfreeze()
    plain = WarmUp(state.backends, modes=[])
    plain.start(state.readiness)
    assert plain.join(timeout=60) and gc.get_freeze_count() == 0
    served = WarmUp(state.backends, modes=[], freeze_gc=True)
    try:
        served.start(state.readiness)
        assert served.join(timeout=60)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
