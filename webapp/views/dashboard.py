"""The dashboard: totals, folders, active jobs with progress and ETA, throughput, recent
problems, and quick actions. The live part is one fragment, polled every 2 s only while
something runs (the fragment drops its own hx-trigger when all is idle); the folder table
is its own fragment, polled every 5 s (a scan started elsewhere shows its time there)."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import has_role, role_required
from ..batch.status import FAILED
from ..extensions import db
from ..models import FileProcessingRecord
from ..services import dashboard as service
from ..services import files as file_service
from ..services import jobs as job_service
from ..services import setup as setup_service
from . import is_htmx, require_login

bp = Blueprint("dashboard", __name__)


require_login(bp)


@bp.get("/")
def index():
    setup = setup_service.progress() if has_role(current_user, "admin") else None
    return render_template(
        "dashboard.html",
        folders=service.folder_rows(),
        waiting=service.waiting(),
        **service.status(),
        setup=setup if setup and not setup["dismissed"] and not setup["settled"] else None,
    )


@bp.get("/partials/status")
def status_fragment():
    if not is_htmx():  # the fragment's URL, opened as a link, shows the whole page
        return index()
    return render_template("partials/status.html", **service.status())


@bp.get("/partials/folders")
def folders_fragment():
    if not is_htmx():  # opened as a link: the whole dashboard
        return index()
    return render_template("partials/folder_table.html", folders=service.folder_rows())


@bp.post("/processing/pause")
@role_required("manager")
def pause():
    job_service.set_paused(True)
    flash(_("Processing paused: workers take no new files until you resume."))
    return _back()


@bp.post("/processing/resume")
@role_required("manager")
def resume():
    count = job_service.set_paused(False)
    flash(_("Processing resumed (%(num)d waiting files queued again).", num=count))
    return _back()


@bp.post("/files/retry-failed")
@role_required("manager")
def retry_all_failed():
    FPR = FileProcessingRecord
    ids = db.session.scalars(sa.select(FPR.id).where(FPR.status == FAILED).limit(10000)).all()
    count = file_service.retry(ids)
    flash(_("%(num)d failed files queued again.", num=count))
    return _back()


def _back():
    if is_htmx():
        return render_template("partials/status.html", **service.status())
    return redirect(url_for("dashboard.index"))
