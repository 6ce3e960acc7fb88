"""Reports: processing performance, error analysis and the score distribution, for a date
range and optionally one folder. Read-only: every signed-in role (viewer too) may see it.
The charts are inline SVG drawn on the server, each with its numbers as a table."""

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from ..services import agents as agent_service
from ..services import folders as folder_service
from ..services import reports as service
from ..services import trackers as tracker_service
from . import require_login

bp = Blueprint("reports", __name__, url_prefix="/reports")
require_login(bp)


@bp.get("/")
def index():
    filters = service.parse_filters(request.args)
    return render_template(
        "reports/index.html",
        filters=filters,
        folders=folder_service.list_folders(),
        tracker_chart=tracker_service.chart(filters),
        **service.report(filters),
    )


@bp.get("/agents")
def agents():
    filters = agent_service.parse_filters(request.args)
    return render_template(
        "reports/agents.html",
        filters=filters,
        folders=folder_service.list_folders(),
        report=agent_service.report(filters),
    )


@bp.get("/agents.csv")
def agents_csv():
    filters = agent_service.parse_filters(request.args)
    headings = [
        _("Agent"),
        _("Calls"),
        _("Average score"),
        _("Agent talk share (%)"),
        _("Average, previous period"),
        _("Change"),
    ]
    text = agent_service.csv_text(agent_service.report(filters), headings)
    response = Response(text.encode("utf-8"), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=callbatch-agents-{filters['date_from']}-{filters['date_to']}.csv"
    )
    return response
