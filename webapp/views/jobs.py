"""Jobs: list and detail with progress, counts, timing and ETA; start, cancel, retry failed,
rollback. The detail's progress is a fragment polled while the job runs."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import role_required
from ..models import job as job_status
from ..services import jobs as service
from . import is_htmx, require_login

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
require_login(bp)


@bp.get("/")
def index():
    status = request.args.get("status") or None
    page = service.list_jobs(status=status, page=request.args.get("page"))
    return render_template(
        "jobs/index.html",
        page=page,
        status=status,
        statuses=service.JOB_STATUSES,
        timings={j.id: service.timing(j) for j in page.items},
    )


def _context(job):
    return dict(
        job=job,
        timing=service.timing(job),
        counts=service.status_counts(job),
        calls=service.calls_count(job),
        active=job.status in job_status.ACTIVE_STATUSES,
    )


@bp.get("/<id:job_id>")
def detail(job_id):
    job = service.get_job(job_id) or abort(404)
    return render_template("jobs/detail.html", **_context(job))


@bp.get("/<id:job_id>/progress")
def progress(job_id):
    job = service.get_job(job_id) or abort(404)
    if not is_htmx():
        return redirect(url_for("jobs.detail", job_id=job_id))
    return render_template("partials/job_progress.html", **_context(job))


@bp.get("/<id:job_id>/start")
@role_required("manager")
def confirm_start(job_id):
    """Starting waiting files by hand is confirmed first: how many, and how long they take."""
    job = service.get_job(job_id) or abort(404)
    return render_template("jobs/start.html", job=job, estimate=service.start_estimate(job))


@bp.post("/<id:job_id>/start")
@role_required("manager")
def start(job_id):
    job = service.get_job(job_id) or abort(404)
    if request.form.get("confirm") != "yes":
        flash(_("Confirm to start the job's waiting files."), "error")
        return redirect(url_for("jobs.confirm_start", job_id=job_id))
    try:
        flash(_("%(num)d files queued.", num=service.start(job)))
    except service.NotPending as err:
        flash(
            _(
                "Job %(num)d is %(status)s; only a job whose files are waiting can be started.",
                num=err.job_id,
                status=err.status,
            ),
            "error",
        )
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.post("/<id:job_id>/cancel")
@role_required("manager")
def cancel(job_id):
    job = service.get_job(job_id) or abort(404)
    flash(_("Job cancelled: %(num)d waiting files will not be processed.", num=service.cancel(job)))
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.post("/<id:job_id>/retry-failed")
@role_required("manager")
def retry_failed(job_id):
    job = service.get_job(job_id) or abort(404)
    flash(_("%(num)d failed files queued again.", num=service.retry_failed(job)))
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.post("/<id:job_id>/rollback")
@role_required("manager")
def rollback(job_id):
    job = service.get_job(job_id) or abort(404)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the rollback."), "error")
        return redirect(url_for("jobs.detail", job_id=job_id))
    result = service.rollback(job, requeue=request.form.get("requeue") == "on")
    flash(
        _(
            "Rolled back: %(calls)d calls removed, %(files)d files re-opened.",
            calls=result["calls_removed"],
            files=result["files_reopened"],
        )
    )
    return redirect(url_for("jobs.detail", job_id=job_id))
