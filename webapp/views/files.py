"""Files: filtered list with search and pagination, bulk retry, CSV export; file detail with
the event timeline, the error explained, retry, and a link to its call."""

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _

from ..auth import role_required
from ..batch.actions import RETRYABLE
from ..batch.status import STATUSES
from ..errors import CODES
from ..params import safe_next
from ..services import files as service
from ..services import folders as folder_service
from . import is_htmx, require_login

bp = Blueprint("files", __name__, url_prefix="/files")
require_login(bp)


@bp.get("/")
def index():
    filters = service.parse_filters(request.args)
    page = service.list_files(filters, request.args.get("page"), request.args.get("per_page", 50))
    context = dict(
        page=page,
        filters=filters,
        statuses=STATUSES,
        retryable_statuses=RETRYABLE,
        codes=sorted(CODES),
        folders=folder_service.list_folders(),
        query=urlencode(filters),
        retryable=service.retryable_count(filters),
    )
    if is_htmx() and request.headers.get("HX-Target") == "file-list":
        return render_template("partials/file_list.html", **context)
    return render_template("files/index.html", **context)


@bp.get("/export.csv")
@role_required("manager")
def export():
    filters = service.parse_filters(request.args)
    response = Response(stream_with_context(service.csv_chunks(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=callbatch-files.csv"
    return response


@bp.post("/retry")
@role_required("manager")
def retry_selected():
    """Bulk retry: the ticked files, or every file matching the filters (`all=1`)."""
    if request.form.get("all") == "1":
        ids = service.ids_matching(service.parse_filters(request.form))
    else:
        ids = [int(i) for i in request.form.getlist("file_id") if i.isdigit()]
    count = service.retry(ids)
    flash(
        _("%(num)d files queued again.", num=count)
        if count
        else _("None of those files can be retried (only failed, skipped or cancelled files can).")
    )
    return redirect(safe_next(request.form.get("back")) or url_for("files.index"))


@bp.get("/<id:file_id>")
def detail(file_id):
    record = service.get_file(file_id) or abort(404)
    return render_template("files/detail.html", record=record, file=service.detail(record))


@bp.post("/<id:file_id>/retry")
@role_required("manager")
def retry(file_id):
    record = service.get_file(file_id) or abort(404)
    count = service.retry([record.id])
    flash(_("File queued again.") if count else _("A %(status)s file cannot be retried.", status=_(record.status)))
    return redirect(url_for("files.detail", file_id=file_id))
