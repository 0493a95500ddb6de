"""`GET /docs`: the API reference page lists every operation of the spec, with its assets
served by the service (no CDN), and renders in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest
import yaml
from werkzeug.serving import make_server


def _operations(spec_text: str) -> list[tuple[str, str, str]]:
    spec = yaml.safe_load(spec_text)
    return [
        (method, path, op["operationId"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def test_the_page_lists_every_operation_and_loads_only_its_own_assets(client):
    spec = client.get("/openapi.yaml").get_data(as_text=True)
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    operations = _operations(spec)
    assert len(operations) >= 20
    for method, path, operation_id in operations:
        assert f'id="op-{operation_id}"' in text
        assert f"{method.upper()} {path}" in text
    assert ("get", "/docs", "docs_docs_page_get") in operations
    sources = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert sources and not [s for s in sources if "//" in s], sources  # nothing off-site
    for asset, kind in (
        ("docs/assets/docs.js", "text/javascript"),
        ("docs/assets/docs.css", "text/css"),
    ):
        assert asset in sources
        served = client.get("/" + asset)
        assert served.status_code == 200 and served.mimetype == kind
        assert "http://" not in served.get_data(as_text=True)
        assert "https://" not in served.get_data(as_text=True)
    assert client.get("/docs/assets/other.js").status_code == 404
    assert "Authorization" not in client.get("/docs").headers  # open, like /openapi.yaml


def _chromium() -> str | None:
    return next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )


@pytest.mark.skipif(_chromium() is None, reason="no chromium on this machine")
def test_headless_chromium_renders_every_operation(app, tmp_path):
    spec = app.test_client().get("/openapi.yaml").get_data(as_text=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
             "--dump-dom", f"http://127.0.0.1:{server.server_port}/docs"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        server.shutdown()
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    operations = _operations(spec)
    assert f'data-operations="{len(operations)}"' in dom, dom[:2000]  # the script ran
    for method, path, operation_id in operations:
        section = re.search(
            rf'<section class="operation" id="op-{operation_id}" data-path="{re.escape(path)}"'
            rf' data-method="{method}">',
            dom,
        )
        assert section, operation_id
    assert dom.count('class="method ') == len(operations)
