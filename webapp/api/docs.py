"""/api/openapi.json (generated from the request models) and /api/docs (a self-contained page
that renders it: no CDN, the app works offline)."""

import os

from flask import send_file

from . import API_VERSION, bp
from .openapi import openapi

DESCRIPTION = """Drive Callbatch from other systems: folders, batch jobs, files, configuration,
notifications, calls and customers, a live status stream and receivers for external triggers.

**Auth**: a personal API token (create one on your profile page or with `POST /api/tokens`),
sent as `Authorization: Bearer <token>`; it has your role (viewer: read; manager: scan, start,
cancel, retry; admin: folders, configuration, notifications). A signed-in browser session works
too; its changes need the page's CSRF token in `X-CSRFToken`.

**Errors** always look like `{"error": {"code", "message", "details"}}`; input errors (422)
list each field and the reason in `details`.

**Lists** take `page` and `per_page` and answer `items`, `page`, `per_page`, `total`, `pages`.

**Idempotency**: `POST /api/batch/jobs`, `POST /api/batch/jobs/{id}/retry` and
`POST /api/batch/folders/{id}/scan` accept `Idempotency-Key`; a repeat returns the first answer.

**Live status**: `GET /api/batch/status` (snapshot), the same URL as a WebSocket, or
`GET /api/batch/status/stream` (Server-Sent Events)."""


@bp.get("/openapi.json")
def openapi_document():
    document = openapi("Callbatch API", API_VERSION, DESCRIPTION)
    document["paths"]["/api/batch/status"]["get"]["description"] += (
        "\n\nWebSocket: open `ws(s)://<host>/api/batch/status` (same auth) to receive the snapshot "
        "and then each change as a JSON text message."
    )
    return document


HERE = os.path.dirname(os.path.abspath(__file__))


@bp.get("/docs")
def docs_page():
    """The reference, rendered in the browser from /api/openapi.json by /api/docs.js."""
    return send_file(os.path.join(HERE, "docs.html"), mimetype="text/html", max_age=0)


@bp.get("/docs.js")
def docs_script():
    return send_file(os.path.join(HERE, "docs.js"), mimetype="text/javascript", max_age=0)
