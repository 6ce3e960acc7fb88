"""Settings: the global batch configuration (validate, save, reset, export, import) and the
scoring rubric editor. Everyone may read them; only admins change them."""
import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import has_role, role_required
from ..services import config_document
from ..services import settings as service
from . import is_htmx, require_login

bp = Blueprint("settings", __name__, url_prefix="/settings")
require_login(bp)


def _page(document, errors, status=200, validated=False):
    by_field = {}
    for e in errors:
        by_field.setdefault(e["field"], []).append(e["message"])
    return render_template("settings/index.html", document=document, errors=errors, by_field=by_field,
                           schema=service.schema(), validated=validated), status


@bp.get("/")
def index():
    return _page(service.current(), [])


@bp.post("/")
@role_required("admin")
def save():
    document, errors = service.from_form(request.form)
    if not errors:
        _config, errors = service.save(document)
    if errors:
        return _page(document, errors, 422)
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
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=callbatch-config.json"})


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
    flash(_("Configuration imported: %(create)d created, %(change)d changed, %(leave)d left as they were.",
            create=len(report["create"]), change=len(report["change"]), leave=len(report["leave"])))
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
