"""`GET /docs`: the API reference, rendered in the browser from this service's OpenAPI
document by a small script the service serves itself (no CDN, nothing fetched elsewhere).
The page also lists every operation as plain HTML, for readers without JavaScript."""

from __future__ import annotations

import html
import json
from importlib import resources

import yaml
from flask import Blueprint, Response, abort, current_app

from agent_service.api import operation

bp = Blueprint("docs", __name__)
ASSETS = {"docs.js": "text/javascript", "docs.css": "text/css"}
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API reference</title>
<link rel="stylesheet" href="docs/assets/docs.css">
</head>
<body>
<main id="reference">
<h1>{title} {version}</h1>
<p>The interactive reference needs JavaScript; every operation of
<a href="openapi.yaml">openapi.yaml</a>:</p>
<ul>
{operations}
</ul>
</main>
<script type="application/json" id="spec">{spec}</script>
<script src="docs/assets/docs.js"></script>
</body>
</html>
"""


def render_page(spec_yaml: str) -> str:
    spec = yaml.safe_load(spec_yaml)
    items = [
        f'<li id="op-{html.escape(op["operationId"])}"><code>{method.upper()} '
        f"{html.escape(path)}</code> {html.escape(op.get('summary', ''))}</li>"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]
    # inside <script> only "</" could end the element early: escape it in the JSON
    embedded = json.dumps(spec).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(spec["info"]["title"]),
        version=html.escape(spec["info"]["version"]),
        operations="\n".join(items),
        spec=embedded,
    )


@bp.get("/docs")
@operation(summary="The API reference as a page (rendered from openapi.yaml)", tag="system",
           auth=False)  # fmt: skip
def docs_page() -> Response:
    state = current_app.extensions["agent"]
    if "DOCS_PAGE" not in current_app.config:  # the spec is fixed for the app's life
        current_app.config["DOCS_PAGE"] = render_page(state.openapi_yaml)
    return Response(current_app.config["DOCS_PAGE"], mimetype="text/html")


@bp.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    body = resources.files("agent_service").joinpath("static", "docs", name).read_bytes()
    response = Response(body, mimetype=ASSETS[name])
    response.cache_control.max_age = 3600
    return response
