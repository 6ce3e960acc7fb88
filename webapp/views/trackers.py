"""Trackers: the phrase lists counted in every call. Everyone signed in sees them; managers
and admins add, change and remove them (each change recounted in a worker)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import role_required
from ..services import trackers as service
from . import require_login

bp = Blueprint("trackers", __name__)
require_login(bp)


@bp.get("/trackers/")
def index():
    return render_template("trackers/index.html", trackers=service.list_trackers(), data={}, errors=[])


@bp.post("/trackers/")
@role_required("manager")
def create():
    data = _data(request.form)
    tracker, errors = service.create(data)
    if errors:
        return render_template("trackers/index.html", trackers=service.list_trackers(), data=data, errors=errors), 422
    flash(_("Tracker %(name)s added; existing calls are being counted.", name=tracker.name))
    return redirect(url_for("trackers.index"))


@bp.get("/trackers/<id:tracker_id>")
def edit(tracker_id):
    tracker = service.get_tracker(tracker_id) or abort(404)
    data = {"name": tracker.name, "phrases": ", ".join(tracker.phrases or [])}
    return render_template("trackers/edit.html", tracker=tracker, data=data, errors=[])


@bp.post("/trackers/<id:tracker_id>")
@role_required("manager")
def update(tracker_id):
    tracker = service.get_tracker(tracker_id) or abort(404)
    data = _data(request.form)
    _tracker, errors = service.update(tracker, data)
    if errors:
        return render_template("trackers/edit.html", tracker=tracker, data=data, errors=errors), 422
    flash(_("Tracker %(name)s saved; calls are being counted again.", name=tracker.name))
    return redirect(url_for("trackers.index"))


@bp.post("/trackers/<id:tracker_id>/delete")
@role_required("manager")
def delete(tracker_id):
    tracker = service.get_tracker(tracker_id) or abort(404)
    name = tracker.name
    service.delete(tracker)
    flash(_("Tracker %(name)s removed.", name=name))
    return redirect(url_for("trackers.index"))


def _data(form):
    return {"name": form.get("name", ""), "phrases": form.get("phrases", "")}
