"""The first-run setup guide (admins): add a folder → choose the speech engine → a
notification channel (optional) → preview the first scan → start. The steps reuse the
pages and routes that do each thing (the folder form with its Test connection, Preview,
Scan now, a notification's Send test); each step can be skipped and taken up again."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import role_required
from ..extensions import db
from ..models import BatchJob
from ..models import job as job_status
from ..services import folder_templates
from ..services import folders as folder_service
from ..services import jobs as job_service
from ..services import notifications as notification_service
from ..services import settings as settings_service
from ..services import setup as service
from ..services import speech_models as models_service
from . import is_htmx, require_login

bp = Blueprint("setup", __name__, url_prefix="/setup")
require_login(bp)


@bp.before_request
@role_required("admin")
def _admins_only():
    return None


@bp.get("/")
def index():
    return render_template("setup/index.html", progress=service.progress())


@bp.get("/<step_id>")
def step(step_id):
    if step_id not in service.IDS:
        abort(404)
    extra = {}
    if step_id == "speech":
        document = settings_service.current()
        stored = document["analysis"]["transcriber"]
        if "analysis.transcriber.shown" in request.args:  # the form, sent back by its noscript button
            document["analysis"]["transcriber"] = settings_service.provider_config("transcriber", request.args, stored)
        elif request.args.get("analysis.transcriber.type", stored.get("type")) != stored.get("type"):
            document["analysis"]["transcriber"] = {"type": request.args["analysis.transcriber.type"]}
        chosen = settings_service.preset(request.args.get("preset"))
        if chosen:
            document["analysis"]["transcriber"] = dict(chosen["transcriber"])
        extra = _speech(document)
    return _page(step_id, **extra)


@bp.post("/speech")
def save_speech():
    """Save the speech engine as chosen here, and go on."""
    document = settings_service.current()
    before = document["analysis"]["transcriber"]
    document["analysis"]["transcriber"] = settings_service.provider_config("transcriber", request.form, before)
    _config, errors = settings_service.save(document)
    if errors:
        return _page("speech", status=422, errors=errors, **_speech(document, errors))
    service.mark("speech", service.DONE)
    flash(_("Speech engine saved."))
    return redirect(url_for("setup.step", step_id=service.following("speech")))


@bp.post("/speech/test")
def test_speech():
    """Test speech with the engine as typed on the step (saved or not); a model not installed
    is reported, never downloaded from here."""
    document = settings_service.current()
    config = settings_service.provider_config("transcriber", request.form, document["analysis"]["transcriber"])
    speech = models_service.test_speech(config, download=False)
    service.speech_tested(speech)
    if is_htmx():
        return render_template("partials/speech_result.html", speech=speech)
    document["analysis"]["transcriber"] = config
    return _page("speech", speech=speech, **_speech(document))


@bp.post("/<step_id>/skip")
def skip(step_id):
    if step_id not in service.IDS:
        abort(404)
    service.skip(step_id)
    after = service.following(step_id)
    return redirect(url_for("setup.step", step_id=after) if after else url_for("setup.index"))


@bp.post("/<step_id>/resume")
def resume(step_id):
    if step_id not in service.IDS:
        abort(404)
    service.resume(step_id)
    return redirect(url_for("setup.step", step_id=step_id))


@bp.post("/<step_id>/done")
def done(step_id):
    """Settle a step by hand (the preview looked right)."""
    if step_id not in service.IDS:
        abort(404)
    service.mark(step_id, service.DONE)
    after = service.following(step_id)
    return redirect(url_for("setup.step", step_id=after) if after else url_for("setup.index"))


@bp.post("/dismiss")
def dismiss():
    service.dismiss()
    flash(_("The setup guide is hidden; it is always at %(url)s.", url=url_for("setup.index")))
    return redirect(url_for("dashboard.index"))


@bp.get("/start/job")
def first_job():
    """The first batch's progress, polled on the Start step while it runs."""
    if not is_htmx():
        return redirect(url_for("setup.step", step_id="start"))
    return render_template("partials/setup_job.html", **_job())


def _page(step_id, status=200, errors=(), **extra):
    progress = service.progress()
    current = next(s for s in progress["steps"] if s["id"] == step_id)
    folders = folder_service.list_folders()
    context = {
        "progress": progress,
        "step": current,
        "number": service.IDS.index(step_id) + 1,
        "total": len(service.IDS),
        "following": service.following(step_id),
        "folders": folders,
        "errors": list(errors),
        "templates": folder_templates.TEMPLATES,
        **extra,
    }
    if step_id == "notify":
        context["notifications"] = notification_service.list_configs()
    if step_id == "start":
        context.update(_job())
    return render_template("setup/step.html", **context), status


def _speech(document, errors=()):
    messages = [e["message"] for e in errors if e["field"].startswith("analysis.transcriber")]
    return {
        "box": settings_service.chooser("transcriber", document["analysis"]["transcriber"]),
        "field_messages": messages,
        "presets": settings_service.presets(),
    }


def _job():
    job = db.session.scalar(sa.select(BatchJob).order_by(BatchJob.id).limit(1))
    if job is None:
        return {"job": None, "active": False}
    return {"job": job, "active": job.status in job_status.ACTIVE_STATUSES, "calls": job_service.calls_count(job)}
