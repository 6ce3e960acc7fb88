"""Settings: the global batch configuration (validate, save, reset, export, import) and the
scoring rubric editor. Everyone may read them; only admins change them."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import has_role, role_required
from ..services import config_document
from ..services import settings as service
from ..services import setup as setup_service
from ..services import speech_models as models_service
from . import is_htmx, require_login

bp = Blueprint("settings", __name__, url_prefix="/settings")
require_login(bp)


def _page(document, errors, status=200, validated=False, speech=None):
    by_field = {}
    for e in errors:
        by_field.setdefault(e["field"], []).append(e["message"])
    return render_template(
        "settings/index.html",
        document=document,
        errors=errors,
        by_field=by_field,
        schema=service.schema(),
        validated=validated,
        analysis=analysis_boxes(document),
        presets=service.presets(),
        speech=speech,
        models=models_service.installed(),
        models_dir=models_service.models_dir(),
    ), status


ANALYSIS_KINDS = ("transcriber", "diarizer", "scorer")


def analysis_boxes(document):
    return {kind: service.chooser(kind, document.get("analysis", {}).get(kind)) for kind in ANALYSIS_KINDS}


@bp.get("/")
def index():
    """The settings in force; `?preset=` fills the speech engine from a preset, and the form
    sent back by GET (its noscript "show this engine's fields" button) redraws what was typed."""
    document = service.current()
    if "analysis.transcriber.shown" in request.args:  # the whole form, sent back by GET
        document, _errors = service.from_form(request.args)
    else:
        for kind in ANALYSIS_KINDS:  # a type asked for by a plain link
            wanted = request.args.get(f"analysis.{kind}.type")
            if wanted and wanted != document["analysis"][kind].get("type"):
                document["analysis"][kind] = {"type": wanted}
    chosen = service.preset(request.args.get("preset"))
    if chosen:
        document["analysis"]["transcriber"] = dict(chosen["transcriber"])
    return _page(document, [])


@bp.get("/analysis-fields")
def analysis_fields():
    """The chooser of one kind (transcriber | diarizer | scorer) for a type or a preset, swapped in by htmx."""
    kind = request.args.get("kind")
    if kind not in ANALYSIS_KINDS:
        abort(404)
    chosen = service.preset(request.args.get("preset")) if kind == "transcriber" else None
    if not is_htmx():
        field = f"analysis.{kind}.type"
        asked = {"preset": chosen["id"]} if chosen else {field: request.args.get(field)}
        return redirect(url_for("settings.index", **asked))
    if chosen:
        config = dict(chosen["transcriber"])
    else:
        type_name = request.args.get(f"analysis.{kind}.type")
        stored = service.current()["analysis"][kind]
        config = stored if stored.get("type") == type_name else {"type": type_name}
    return render_template("partials/analysis_fields.html", kind=kind, box=service.chooser(kind, config))


@bp.post("/")
@role_required("admin")
def save():
    document, errors = service.from_form(request.form)
    before = service.current()["analysis"]["transcriber"]
    if not errors:
        _config, errors = service.save(document)
    if errors:
        return _page(document, errors, 422)
    setup_service.speech_saved(before, document["analysis"]["transcriber"])
    flash(_("Settings saved."))
    return redirect(url_for("settings.index"))


@bp.post("/validate")
@role_required("admin")
def validate():
    document, errors = service.from_form(request.form)
    errors = errors or service.validate(document)
    if is_htmx():
        return render_template("partials/validation.html", errors=errors)
    return _page(document, errors, 200 if not errors else 422, validated=True)


@bp.post("/test-speech")
@role_required("admin")
def test_speech():
    """Transcribe the sample call with the speech engine as typed in the form (saved or not);
    a model not installed is reported, never downloaded from here."""
    config = service.provider_config("transcriber", request.form, service.current()["analysis"]["transcriber"])
    speech = models_service.test_speech(config, download=False)
    setup_service.speech_tested(speech)
    if is_htmx():
        return render_template("partials/speech_result.html", speech=speech)
    document, _errors = service.from_form(request.form)
    return _page(document, [], speech=speech)


@bp.post("/reset")
@role_required("admin")
def reset():
    service.reset()
    flash(_("Settings reset to the defaults."))
    return redirect(url_for("settings.index"))


@bp.get("/export.json")
@role_required("manager")
def export():
    """The whole configuration document; `?secrets=encrypted` (admins) keeps the encrypted secrets."""
    secrets = "encrypted" if request.args.get("secrets") == "encrypted" else "omit"
    if secrets == "encrypted" and not has_role(current_user, "admin"):
        abort(403)
    body = json.dumps(config_document.export(secrets=secrets), indent=2, ensure_ascii=False)
    return Response(
        body, mimetype="application/json", headers={"Content-Disposition": "attachment; filename=callbatch-config.json"}
    )


@bp.post("/import")
@role_required("admin")
def import_():
    """Import a configuration document; with `dry_run` only show what it would do."""
    upload = request.files.get("file")
    data = upload.read() if upload else (request.form.get("document") or "").encode()
    dry_run = request.form.get("dry_run") in ("1", "on", "true")
    report = config_document.import_document(data, dry_run=dry_run)
    if not report["valid"]:
        errors = [{"field": e["where"], "message": e["message"]} for e in report["errors"]]
        return _page(service.current(), errors, 422)
    if dry_run:
        template = "partials/config_import_report.html" if is_htmx() else "config/import_report.html"
        return render_template(template, report=report)
    flash(
        _(
            "Configuration imported: %(create)d created, %(change)d changed, %(leave)d left as they were.",
            create=len(report["create"]),
            change=len(report["change"]),
            leave=len(report["leave"]),
        )
    )
    for entry in report["needs_credentials"]:
        flash(entry["message"], "error")
    return redirect(url_for("settings.index"))


@bp.get("/rubric")
def rubric():
    return render_template("settings/rubric.html", rubric=service.rubric(), text=None, errors=[])


@bp.post("/rubric")
@role_required("admin")
def save_rubric():
    text = request.form.get("rubric", "")
    _document, errors = service.save_rubric(text)
    if errors:
        return render_template("settings/rubric.html", rubric=service.rubric(), text=text, errors=errors), 422
    flash(_("Scorecard saved: new calls are scored with it."))
    return redirect(url_for("settings.rubric"))


@bp.post("/rubric/reset")
@role_required("admin")
def reset_rubric():
    service.reset_rubric()
    flash(_("Back to the built-in Hebrew scorecard."))
    return redirect(url_for("settings.rubric"))
