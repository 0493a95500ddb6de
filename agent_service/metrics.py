"""Prometheus metrics. Under gunicorn with several workers the values live in files
under PROMETHEUS_MULTIPROC_DIR (set by `serve` before any worker starts), and
`/metrics` merges them."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "agent_http_requests_total",
    "HTTP requests by route, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "agent_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=_BUCKETS,
)
BACKEND_UP = Gauge(
    "agent_backend_up",
    "1 when the backend's last readiness check passed",
    ["component"],
    multiprocess_mode="livemostrecent",
)
BACKEND_CHECK_SECONDS = Histogram(
    "agent_backend_check_duration_seconds",
    "Readiness check duration",
    ["component"],
    buckets=_BUCKETS,
)


def render() -> tuple[bytes, str]:
    """The exposition text for this process, or for all workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
