"""Reports: processing performance, error analysis and the score distribution, for a date
range and optionally one folder. Read-only: every signed-in role (viewer too) may see it.
The charts are inline SVG drawn on the server, each with its numbers as a table."""
from flask import Blueprint, render_template, request

from ..services import folders as folder_service
from ..services import reports as service
from . import require_login

bp = Blueprint("reports", __name__, url_prefix="/reports")
require_login(bp)


@bp.get("/")
def index():
    filters = service.parse_filters(request.args)
    return render_template("reports/index.html", filters=filters, folders=folder_service.list_folders(),
                           **service.report(filters))
